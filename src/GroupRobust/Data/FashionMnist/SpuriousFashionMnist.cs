using GroupRobust.Groups;
using GroupRobust.Randomness;
using static TorchSharp.torch;

namespace GroupRobust.Data.FashionMnist;

/// <summary>
/// A Waterbirds-like benchmark built from real Fashion-MNIST images. Two labels, each a union of Fashion-MNIST
/// classes (default: Sandal+Sneaker vs Bag+Ankle boot, a shape task a small CNN learns to about 95%, several epochs
/// after it has learned the colour); the spurious attribute is the background colour
/// (orange or blue), far easier to pick up than the garment's shape. In training, the colour agrees with the label for
/// <see cref="SpuriousFashionMnistOptions.SpuriousCorrelation"/> of each class (exactly, 95% by default); validation
/// is held out from the training file with balanced groups (like Waterbirds' validation split); test comes from the
/// test file, balanced. Groups: g = 2y + colour, named e.g. "(Sandal+Sneaker, blue)".
/// </summary>
/// <remarks>
/// Construction, for a seed: the images of the chosen classes are shuffled per label; the first ValidationSize / 2 of
/// each label form validation (half of each colour), the rest (optionally capped by TrainSize, label-balanced) form
/// training, where the first round(p n_y) of label y get colour y and the others colour 1 - y; test takes the test
/// file's images of the chosen classes, half of each label in each colour. Deterministic for a seed.
/// </remarks>
public static class SpuriousFashionMnist
{
    /// <summary>Builds the three splits.</summary>
    /// <param name="options">Classes, correlation, sizes, colours, seed and data directory; defaults when null.</param>
    /// <param name="device">Storage device of the splits (CPU by default).</param>
    /// <exception cref="FileNotFoundException">Fashion-MNIST is not installed (the message names the Debian package).</exception>
    public static DatasetSplits Load(SpuriousFashionMnistOptions? options = null, Device? device = null)
    {
        options ??= new SpuriousFashionMnistOptions();
        options.Validate();
        var files = FashionMnistFiles.Load(options.DataDirectory);
        return Build(files, options, device);
    }

    /// <summary>Builds the splits from already loaded files (for tests and repeated seeds).</summary>
    public static DatasetSplits Build(FashionMnistFiles files, SpuriousFashionMnistOptions options, Device? device = null)
    {
        ArgumentNullException.ThrowIfNull(files);
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        var seeds = new SeedSource(options.Seed);
        var scheme = new GroupScheme(2, 2, options.ResolvedLabelNames(), options.ColourNames);
        var palette = options.Palette.ToArray();

        var byLabel = ByLabel(files.TrainLabels.Data, options, seeds.Random("train-order"));
        int valPerLabel = options.ValidationSize / 2;
        foreach (var (list, y) in byLabel.Select((l, y) => (l, y)))
            if (list.Count <= valPerLabel)
                throw new ArgumentOutOfRangeException(nameof(options), options.ValidationSize, $"Label {y} has {list.Count} training images; the validation split alone needs {valPerLabel}.");
        var val = new List<(int Image, int Label, int Colour)>();
        var train = new List<(int Image, int Label, int Colour)>();
        for (int y = 0; y < 2; y++)
        {
            var list = byLabel[y];
            for (int k = 0; k < valPerLabel; k++) val.Add((list[k], y, k < valPerLabel / 2 ? 0 : 1));
            var rest = list.Skip(valPerLabel).ToList();
            if (options.TrainSize is int cap) rest = rest.Take(y == 0 ? (cap + 1) / 2 : cap / 2).ToList();
            int majority = (int)Math.Round(options.SpuriousCorrelation * rest.Count, MidpointRounding.AwayFromZero);
            for (int k = 0; k < rest.Count; k++) train.Add((rest[k], y, k < majority ? y : 1 - y));
        }

        var testByLabel = ByLabel(files.TestLabels.Data, options, seeds.Random("test-order"));
        var test = new List<(int Image, int Label, int Colour)>();
        for (int y = 0; y < 2; y++)
        {
            var list = testByLabel[y];
            if (options.TestSize is int cap) list = list.Take(y == 0 ? (cap + 1) / 2 : cap / 2).ToList();
            for (int k = 0; k < list.Count; k++) test.Add((list[k], y, k < list.Count / 2 ? 0 : 1));
        }

        return new DatasetSplits(
            Make(files.TrainImages.Data, Shuffled(train, seeds.Random("train-shuffle")), scheme, palette, device),
            Make(files.TrainImages.Data, Shuffled(val, seeds.Random("validation-shuffle")), scheme, palette, device),
            Make(files.TestImages.Data, Shuffled(test, seeds.Random("test-shuffle")), scheme, palette, device));
    }

    private static List<int>[] ByLabel(byte[] labels, SpuriousFashionMnistOptions o, Random rng) => ByLabel(labels, [o.Label0Classes, o.Label1Classes], rng);

    /// <summary>The indices of each label's images (label y: the Fashion-MNIST classes <paramref name="classes"/>[y], disjoint), each list shuffled in label order.</summary>
    internal static List<int>[] ByLabel(byte[] labels, IReadOnlyList<IReadOnlyList<int>> classes, Random rng)
    {
        var result = classes.Select(_ => new List<int>()).ToArray();
        for (int i = 0; i < labels.Length; i++)
            for (int y = 0; y < classes.Count; y++)
                if (classes[y].Contains(labels[i]))
                {
                    result[y].Add(i);
                    break;
                }
        foreach (var list in result) ShuffleInPlace(list, rng);
        return result;
    }

    internal static List<T> Shuffled<T>(List<T> items, Random rng)
    {
        var copy = items.ToList();
        ShuffleInPlace(copy, rng);
        return copy;
    }

    internal static void ShuffleInPlace<T>(List<T> list, Random rng) => Shuffling.Shuffle(list, rng);

    internal static ColoredImageDataset Make(byte[] images, List<(int Image, int Label, int Colour)> rows, GroupScheme scheme, float[] palette, Device? device)
    {
        const int pixels = 28 * 28;
        var data = new byte[rows.Count * pixels];
        for (int i = 0; i < rows.Count; i++)
            Array.Copy(images, (long)rows[i].Image * pixels, data, (long)i * pixels, pixels);
        return new ColoredImageDataset(data, 28, 28, rows.Select(r => r.Label).ToArray(), rows.Select(r => r.Colour).ToArray(), palette, scheme, device);
    }
}
