using GroupRobust.Data;
using GroupRobust.Pretrained;
using TorchSharp;
using static TorchSharp.torch;
using static TorchSharp.torch.nn;

namespace GroupRobust.Study.Models;

/// <summary>
/// The backbones the Study trains (<c>--backbone</c>): the small CNN (3 x 28 x 28 images), ResNet-18/50 (TorchVision
/// for TorchSharp, torchvision weights with <c>--weights</c>: the new head is initialised, the rest loaded), an MLP on
/// feature vectors (the Gaussian task, precomputed embeddings) and a bag-of-words model on token ids (MultiNLI's
/// converted BERT inputs [L, 3]: ids, mask, segments). Every one ends in a Linear named <c>fc</c>.
/// </summary>
internal static class StudyModels
{
    public static readonly string[] Names = ["small-cnn", "resnet18", "resnet50", "mlp", "bag-of-words"];

    /// <summary>Manifold Mixup's random-layer candidates of a backbone (input, after block 1, after block 2).</summary>
    public static string[] RandomLayers(string backbone) => backbone switch
    {
        "resnet18" or "resnet50" => ["input", "layer1", "layer2"],
        "mlp" => ["input", "hidden"],
        "bag-of-words" => ["features", "hidden"],
        _ => SmallCnn.RandomLayers,
    };

    /// <summary>A new model for <paramref name="data"/> on <paramref name="device"/>, initialised from the global generator (seed it first).</summary>
    public static Module<Tensor, Tensor> Create(string backbone, DatasetSplits data, string? weights, Device device)
    {
        int classes = data.Scheme.NumClasses;
        Module<Tensor, Tensor> model = backbone switch
        {
            "resnet18" => Backbones.ResNet18(classes, weights),
            "resnet50" => Backbones.ResNet50(classes, weights),
            "mlp" => Mlp(data, classes),
            "bag-of-words" => new BagOfWords(30522, 64, classes),
            _ => SmallCnn.Create(classes),
        };
        return device.type == DeviceType.CPU ? model : model.to(device);
    }

    private static Module<Tensor, Tensor> Mlp(DatasetSplits data, int classes)
    {
        using var scope = NewDisposeScope();
        using var probe = data.Train.GetBatch([0]);
        long width = probe.Inputs[0].numel();
        return Sequential(("flatten", Flatten()), ("hidden", Sequential(Linear(width, 64), ReLU())), ("fc", Linear(64, classes)));
    }

    /// <summary>Mean of the token embeddings under the attention mask, one hidden layer, a linear head (BERT's vocabulary of 30,522 ids).</summary>
    private sealed class BagOfWords : Module<Tensor, Tensor>
    {
        private readonly TorchSharp.Modules.Embedding embedding;
        private readonly Module<Tensor, Tensor> features;
        private readonly Module<Tensor, Tensor> hidden;
        private readonly TorchSharp.Modules.Linear fc;

        public BagOfWords(long vocabulary, long width, int classes) : base("BagOfWords")
        {
            embedding = Embedding(vocabulary, width);
            features = Identity();
            hidden = Sequential(Linear(width, width), ReLU());
            fc = Linear(width, classes);
            RegisterComponents();
        }

        public override Tensor forward(Tensor x)
        {
            if (x.dim() != 3 || x.shape[2] < 2)
                throw new ArgumentException($"The bag-of-words model takes token inputs [B, L, 3] (ids, mask, segments); got [{string.Join(", ", x.shape)}].");
            var ids = x.select(2, 0).to(ScalarType.Int64);
            var mask = x.select(2, 1).to(ScalarType.Float32).unsqueeze(2);
            var mean = (embedding.call(ids) * mask).sum(1) / mask.sum(1).clamp_min(1f);
            return fc.call(hidden.call(features.call(mean)));
        }
    }
}
