using GroupRobust.Groups;
using GroupRobust.Randomness;
using static TorchSharp.torch;

namespace GroupRobust.Data.FashionMnist;

/// <summary>
/// Ten Fashion-MNIST classes on ten background colours: class k is drawn on colour k for
/// <see cref="ColoredFashionMnistOptions.MatchFraction"/> of its training images (exactly), on a uniformly random other
/// colour otherwise; validation (held out from the training file) and test use every colour equally often per class.
/// 100 groups g = 10 y + colour. The colored-digit setting of the JM1 paper's Figure 1, on real images.
/// </summary>
public static class ColoredFashionMnist
{
    /// <summary>The ten background colours (RGB in [0, 1]), one per class.</summary>
    public static IReadOnlyList<float> Palette { get; } =
    [
        0.90f, 0.10f, 0.10f,   0.10f, 0.60f, 0.10f,   0.10f, 0.20f, 0.90f,   0.95f, 0.85f, 0.10f,   0.60f, 0.10f, 0.70f,
        0.10f, 0.80f, 0.80f,   0.95f, 0.50f, 0.10f,   0.50f, 0.30f, 0.10f,   0.95f, 0.45f, 0.70f,   0.45f, 0.45f, 0.45f,
    ];

    /// <summary>The colour names, aligned with <see cref="Palette"/>.</summary>
    public static IReadOnlyList<string> ColourNames { get; } = ["red", "green", "blue", "yellow", "purple", "cyan", "orange", "brown", "pink", "gray"];

    /// <summary>Builds the three splits.</summary>
    public static DatasetSplits Load(ColoredFashionMnistOptions? options = null, Device? device = null)
    {
        options ??= new ColoredFashionMnistOptions();
        options.Validate();
        return Build(FashionMnistFiles.Load(options.DataDirectory), options, device);
    }

    /// <summary>Builds the splits from already loaded files.</summary>
    public static DatasetSplits Build(FashionMnistFiles files, ColoredFashionMnistOptions options, Device? device = null)
    {
        ArgumentNullException.ThrowIfNull(files);
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        var seeds = new SeedSource(options.Seed);
        var scheme = new GroupScheme(10, 10, FashionMnistFiles.ClassNames, ColourNames);
        var palette = Palette.ToArray();
        var trainRng = seeds.Random("train");
        var train = new List<(int, int, int)>();
        var val = new List<(int, int, int)>();
        var test = new List<(int, int, int)>();
        for (int y = 0; y < 10; y++)
        {
            var list = Enumerable.Range(0, files.TrainLabels.Count).Where(i => files.TrainLabels.Data[i] == y).ToList();
            SpuriousFashionMnist.ShuffleInPlace(list, trainRng);
            if (list.Count <= options.ValidationPerClass)
                throw new ArgumentOutOfRangeException(nameof(options), options.ValidationPerClass, $"Class {y} has {list.Count} training images; validation alone needs {options.ValidationPerClass}.");
            for (int k = 0; k < options.ValidationPerClass; k++) val.Add((list[k], y, k % 10));
            var rest = list.Skip(options.ValidationPerClass).Take(options.TrainPerClass ?? int.MaxValue).ToList();
            int match = (int)Math.Round(options.MatchFraction * rest.Count, MidpointRounding.AwayFromZero);
            for (int k = 0; k < rest.Count; k++)
            {
                int colour = k < match ? y : (y + 1 + trainRng.Next(9)) % 10;
                train.Add((rest[k], y, colour));
            }
            var testList = Enumerable.Range(0, files.TestLabels.Count).Where(i => files.TestLabels.Data[i] == y).ToList();
            SpuriousFashionMnist.ShuffleInPlace(testList, trainRng);
            testList = testList.Take(options.TestPerClass ?? int.MaxValue).ToList();
            for (int k = 0; k < testList.Count; k++) test.Add((testList[k], y, k % 10));
        }
        return new DatasetSplits(
            SpuriousFashionMnist.Make(files.TrainImages.Data, SpuriousFashionMnist.Shuffled(train, seeds.Random("train-shuffle")), scheme, palette, device),
            SpuriousFashionMnist.Make(files.TrainImages.Data, SpuriousFashionMnist.Shuffled(val, seeds.Random("validation-shuffle")), scheme, palette, device),
            SpuriousFashionMnist.Make(files.TestImages.Data, SpuriousFashionMnist.Shuffled(test, seeds.Random("test-shuffle")), scheme, palette, device));
    }
}
