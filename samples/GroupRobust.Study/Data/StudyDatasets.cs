using GroupRobust.Data;
using GroupRobust.Data.FashionMnist;
using GroupRobust.Data.Images;
using GroupRobust.Data.Loaders;
using GroupRobust.Imaging;
using static TorchSharp.torch;

namespace GroupRobust.Study.Data;

/// <summary>
/// The datasets the Study runs on (<c>--dataset</c>): the generated tasks (Spurious and Colored Fashion-MNIST from
/// Debian's package, the JM1 paper's Gaussian task, the text benchmark on Debian's fortunes) and the published layouts on disk (Waterbirds, CelebA, MultiNLI,
/// a normalized CSV), with the preprocessing the backbone needs (docs/datasets.md has every layout).
/// </summary>
internal static class StudyDatasets
{
    /// <summary>The names <c>--dataset</c> takes; those marked with a path need one.</summary>
    public static readonly string[] Names = ["spurious-fashion-mnist", "colored-fashion-mnist", "multi-attribute-fashion-mnist", "gaussian", "fortunes", "waterbirds", "celeba", "multinli", "csv"];

    /// <summary>True for the text datasets a BERT-family backbone reads as token batches.</summary>
    public static bool IsText(string name) => name is "fortunes";

    /// <summary>True for the datasets read from a user's folder or file (the same data for every seed).</summary>
    public static bool NeedsPath(string name) => name is "waterbirds" or "celeba" or "multinli" or "csv";

    /// <summary>True for the datasets built from Debian's Fashion-MNIST files.</summary>
    public static bool UsesFashionMnist(string name) => name is "spurious-fashion-mnist" or "colored-fashion-mnist" or "multi-attribute-fashion-mnist";

    public static DatasetSplits Load(StudyOptions options, FashionMnistFiles? files, int seed, Device device)
    {
        var splits = LoadPlain(options, files, seed, device);
        if (!options.Augment) return splits;
        if (splits.Train is not ImageFileDataset images)
        {
            splits.Dispose();
            throw new ArgumentException($"--augment applies to image datasets on disk (waterbirds, celeba, csv), not to {options.Dataset}.");
        }
        // the references' --augment_data: random resized crop and flip of the training images, drawn per seed and epoch
        var preset = options.Dataset == "celeba" ? ImageAugmentation.CelebA : ImageAugmentation.Waterbirds;
        var augmented = images.WithAugmentation(preset with { Size = options.Backbone == "small-cnn" ? 28 : 224 }, seed);
        images.Dispose();
        return splits with { Train = augmented };
    }

    private static DatasetSplits LoadPlain(StudyOptions options, FashionMnistFiles? files, int seed, Device device)
    {
        switch (options.Dataset)
        {
            case "spurious-fashion-mnist":
            {
                var o = new SpuriousFashionMnistOptions { DataDirectory = options.DataDirectory, TrainSize = options.TrainSize, SpuriousCorrelation = options.Correlation, Seed = seed };
                if (options.Label0Classes is not null) o = o with { Label0Classes = options.Label0Classes };
                if (options.Label1Classes is not null) o = o with { Label1Classes = options.Label1Classes };
                return SpuriousFashionMnist.Build(files!, o, device);
            }
            case "colored-fashion-mnist":
                return ColoredFashionMnist.Build(files!, new ColoredFashionMnistOptions { DataDirectory = options.DataDirectory, MatchFraction = options.Correlation, TrainPerClass = Math.Max(1, options.TrainSize / 10), Seed = seed }, device);
            case "multi-attribute-fashion-mnist":
            {
                // --correlation is each label's share on its own colour; the rest splits 70 / 30 over the two other colours,
                // or goes to the other one with --colours 2 (the first two colours of the default palette)
                double rest = 1 - options.Correlation;
                var defaults = new MultiAttributeFashionMnistOptions();
                return MultiAttributeFashionMnist.Build(files!, defaults with
                {
                    DataDirectory = options.DataDirectory, TrainSize = options.TrainSize, Seed = seed,
                    AttributeFractions = options.ColoursInEffect == 2 ? [options.Correlation, rest] : [options.Correlation, 0.7 * rest, 0.3 * rest],
                    Palette = defaults.Palette.Take(3 * options.ColoursInEffect).ToArray(), ColourNames = defaults.ColourNames.Take(options.ColoursInEffect).ToArray(),
                }, device);
            }
            case "fortunes":
                return GroupRobust.Text.Data.SpuriousFortunes.Load(Models.StudyModels.Tokenizer(),
                    new GroupRobust.Text.Data.SpuriousFortunesOptions { SpuriousCorrelation = options.Correlation, Seed = seed }, device);
            case "gaussian":
                return SyntheticGaussianDataset.Create(new SyntheticGaussianOptions { TrainSize = options.TrainSize, MinorityFraction = 1 - options.Correlation, Dimensions = options.Dimensions, Seed = seed });
            case "waterbirds":
                return WaterbirdsLoader.Load(options.DatasetPath!, new SkiaImageDecoder(), Preprocessing(options, ImagePreprocessing.Waterbirds), device);
            case "celeba":
                return CelebALoader.Load(options.DatasetPath!, new SkiaImageDecoder(), preprocessing: Preprocessing(options, ImagePreprocessing.CelebA), device: device);
            case "csv":
                return NormalizedCsvLoader.Load(options.DatasetPath!, new SkiaImageDecoder(), Preprocessing(options, ImagePreprocessing.Waterbirds), device: device);
            case "multinli":
            {
                var dir = options.DatasetPath!;
                var features = new[] { "multinli.safetensors", "features.safetensors", "features.npy" }.Select(f => Path.Combine(dir, f)).FirstOrDefault(File.Exists)
                    ?? throw new FileNotFoundException($"{dir}: no multinli.safetensors, features.safetensors or features.npy (convert group_DRO's cached features with eng/convert-multinli-features.py).");
                return MultiNliLoader.Load(Path.Combine(dir, "metadata_random.csv"), features, device);
            }
            default:
                throw new ArgumentException($"Unknown dataset '{options.Dataset}'; known: {string.Join(", ", Names)}.");
        }
    }

    /// <summary>The references' preprocessing for a ResNet (224 x 224, ImageNet normalisation); 28 x 28 for the small CNN.</summary>
    private static ImagePreprocessing Preprocessing(StudyOptions options, ImagePreprocessing reference) => options.Backbone switch
    {
        "small-cnn" => new ImagePreprocessing { PreCrop = reference.PreCrop, Resize = (28, 28), Mean = reference.Mean, Std = reference.Std },
        // the packaged ImageNet ResNet reads RGB 224 x 224 in 0..255 and subtracts its own mean image
        "resnet18-imagenet" => reference with { Mean = [0f, 0f, 0f], Std = [1 / 255f, 1 / 255f, 1 / 255f] },
        _ => reference,
    };
}
