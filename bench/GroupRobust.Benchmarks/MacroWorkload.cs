using GroupRobust.Data;
using GroupRobust.Data.FashionMnist;
using GroupRobust.Groups;
using GroupRobust.Study.Models;
using TorchSharp;
using static TorchSharp.torch;

namespace GroupRobust.Benchmarks;

/// <summary>
/// What the macro benchmark trains: a training set stored as one tensor on the device (so the library's batches and the
/// raw loop's batches are the same <c>index_select</c> of the same storage) and a model factory. The small CNN trains on
/// Spurious Fashion-MNIST (3 x 28 x 28, 95% spurious colour); the ResNets on random images with the same 95/5 group
/// structure, MiniLM on random token batches (timing only: the content does not change the cost).
/// </summary>
internal sealed class MacroWorkload : IDisposable
{
    private readonly MacroOptions _options;
    private readonly DatasetSplits? _splits;

    public MacroWorkload(MacroOptions options)
    {
        _options = options;
        using var scope = NewDisposeScope();
        if (options.Model == "small-cnn")
        {
            var fm = new SpuriousFashionMnistOptions { TrainSize = options.TrainSize, Seed = 0 };
            _splits = SpuriousFashionMnist.Load(options.DataDirectory is null ? fm : fm with { DataDirectory = options.DataDirectory });
            Train = Materialize(_splits.Train, options);
            Validation = Materialize(_splits.Validation, options);
            Candidates = SmallCnn.RandomLayers;
        }
        else if (options.Model == "minilm")
        {
            // token batches [N, L, 3]: random ids, every position a token (the cost of a text of L tokens), type 0
            using var generator = new torch.Generator(0);
            int n = options.TrainSize, l = options.ImageSize;
            var labels = torch.randint(0, 2, [n], generator: generator);
            var agree = torch.rand([n], generator: generator).lt(0.95);
            var attributes = torch.where(agree, labels, 1L - labels);
            var ids = torch.randint(1000, 30000, [n, l], generator: generator);
            var tokens = torch.stack([ids, torch.ones_like(ids), torch.zeros_like(ids)], -1);
            Train = new TensorGroupDataset(tokens.to(options.Device), labels.to(options.Device), GroupScheme.Binary(), attributes.to(options.Device));
            Validation = Train;
            Candidates = ["encoder.embeddings", "encoder.encoder.layer.2", "output"];
        }
        else
        {
            using var generator = new torch.Generator(0);
            int n = options.TrainSize, s = options.ImageSize;
            var labels = torch.randint(0, 2, [n], generator: generator);
            var agree = torch.rand([n], generator: generator).lt(0.95);
            var attributes = torch.where(agree, labels, 1L - labels);
            var images = torch.randn([n, 3, s, s], generator: generator);
            Train = new TensorGroupDataset(images.to(options.ScalarType).to(options.Device), labels.to(options.Device), GroupScheme.Binary(), attributes.to(options.Device));
            Validation = Train;
            Candidates = ["input", "layer1", "layer2"];
        }
    }

    /// <summary>The training set, stored on the benchmark's device in its dtype.</summary>
    public TensorGroupDataset Train { get; }

    /// <summary>The validation split for XRM and DFR (the training set itself for random images).</summary>
    public TensorGroupDataset Validation { get; }

    /// <summary>Manifold Mixup's random-layer candidates of this model (input, after block 1, after block 2).</summary>
    public IReadOnlyList<string> Candidates { get; }

    /// <summary>A new model on the device in the benchmark's dtype, initialised from <paramref name="seed"/>.</summary>
    public nn.Module<Tensor, Tensor> NewModel(long seed = 0)
    {
        torch.random.manual_seed(seed);
        nn.Module<Tensor, Tensor> model = _options.Model switch
        {
            "resnet18" => torchvision.models.resnet18(num_classes: 2),
            "resnet50" => torchvision.models.resnet50(num_classes: 2),
            "minilm" => MiniLm(),
            _ => SmallCnn.Create(2),
        };
        if (_options.ScalarType != ScalarType.Float32) model.to(_options.ScalarType);
        if (_options.Device.type != DeviceType.CPU) model.to(_options.Device);
        return model;
    }

    /// <summary>all-MiniLM-L6-v2's architecture (random weights: the cost does not depend on them), mean pooling, a linear head.</summary>
    private static nn.Module<Tensor, Tensor> MiniLm()
    {
        var encoder = new GroupRobust.Text.Encoders.BertEncoder(GroupRobust.Text.Encoders.BertConfig.AllMiniLmL6V2, GroupRobust.Text.Encoders.TextPooling.Mean);
        return new GroupRobust.Models.EncoderClassifier(encoder, nn.Linear(encoder.OutputSize, 2));
    }

    private static TensorGroupDataset Materialize(IGroupDataset data, MacroOptions options)
    {
        using var scope = NewDisposeScope();
        using var all = data.GetBatch(Enumerable.Range(0, data.Count).Select(i => (long)i).ToArray());
        var attributes = all.Groups!.remainder((long)data.Scheme.NumAttributes);
        return new TensorGroupDataset(all.Inputs.to(options.ScalarType).to(options.Device), all.Labels.to(options.Device), data.Scheme, attributes.to(options.Device));
    }

    /// <summary>Waits for the device's queued work (CUDA); nothing on the CPU.</summary>
    public void Synchronize()
    {
        if (_options.Device.type == DeviceType.CUDA) torch.cuda.synchronize();
    }

    public void Dispose()
    {
        if (!ReferenceEquals(Validation, Train)) Validation.Dispose();
        Train.Dispose();
        _splits?.Dispose();
    }
}
