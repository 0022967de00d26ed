using GroupRobust.Groups;
using GroupRobust.Randomness;
using static TorchSharp.torch;

namespace GroupRobust.Data.FashionMnist;

/// <summary>
/// A multi-class benchmark with several minority groups of different sizes, from real Fashion-MNIST images: K labels
/// (each a union of Fashion-MNIST classes; default three) on A background colours (default three). In training, label y
/// is drawn on colour (y + j) mod A for a share <see cref="MultiAttributeFashionMnistOptions.AttributeFractions"/>[j] of
/// its images (exact counts; default 90% on its own colour, 7% and 3% on the two others), so every colour is the
/// shortcut of one label and each label has minority groups of two sizes; validation (held out from the training file)
/// and test are group-balanced. K x A groups, g = A y + colour, named e.g. "(Bag+Ankle boot, green)". The multi-class
/// counterpart of <see cref="SpuriousFashionMnist"/>, where phase-I error sets miss most of the minority.
/// </summary>
/// <remarks>
/// Construction, for a seed: each label's training-file images are shuffled; the first A x ValidationPerGroup form its
/// validation images (ValidationPerGroup per colour); the rest (optionally capped by TrainSize, label-balanced) are
/// coloured by the fractions in order; test takes each label's test-file images, the same number per colour.
/// Deterministic for a seed.
/// </remarks>
public static class MultiAttributeFashionMnist
{
    /// <summary>Builds the three splits.</summary>
    /// <param name="options">Labels, fractions, sizes, colours, seed and data directory; defaults when null.</param>
    /// <param name="device">Storage device of the splits (CPU by default).</param>
    /// <exception cref="FileNotFoundException">Fashion-MNIST is not installed (the message names the Debian package).</exception>
    public static DatasetSplits Load(MultiAttributeFashionMnistOptions? options = null, Device? device = null)
    {
        options ??= new MultiAttributeFashionMnistOptions();
        options.Validate();
        return Build(FashionMnistFiles.Load(options.DataDirectory), options, device);
    }

    /// <summary>Builds the splits from already loaded files (for tests and repeated seeds).</summary>
    /// <exception cref="ArgumentOutOfRangeException">A label has too few training images for its validation images.</exception>
    public static DatasetSplits Build(FashionMnistFiles files, MultiAttributeFashionMnistOptions options, Device? device = null)
    {
        ArgumentNullException.ThrowIfNull(files);
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        int k = options.Labels.Count, a = options.AttributeFractions.Count;
        var seeds = new SeedSource(options.Seed);
        var scheme = new GroupScheme(k, a, options.LabelNames(), options.ColourNames);
        var palette = options.Palette.ToArray();
        var trainByLabel = SpuriousFashionMnist.ByLabel(files.TrainLabels.Data, options.Labels, seeds.Random("train-order"));
        var testByLabel = SpuriousFashionMnist.ByLabel(files.TestLabels.Data, options.Labels, seeds.Random("test-order"));
        var (train, val, test) = (new List<(int, int, int)>(), new List<(int, int, int)>(), new List<(int, int, int)>());
        int valPerLabel = a * options.ValidationPerGroup;
        for (int y = 0; y < k; y++)
        {
            var list = trainByLabel[y];
            if (list.Count <= valPerLabel)
                throw new ArgumentOutOfRangeException(nameof(options), options.ValidationPerGroup,
                    $"Label {y} ({scheme.ClassNames[y]}) has {list.Count} training images; its validation images alone need {valPerLabel} ({a} colours x ValidationPerGroup {options.ValidationPerGroup}).");
            for (int i = 0; i < valPerLabel; i++) val.Add((list[i], y, (y + i / options.ValidationPerGroup) % a));
            var rest = list.Skip(valPerLabel).ToList();
            if (options.TrainSize is int cap) rest = rest.Take(cap / k + (y < cap % k ? 1 : 0)).ToList();
            // exact counts per colour: the cumulative shares rounded, so the counts sum to the label's images
            int start = 0;
            double cumulative = 0;
            for (int j = 0; j < a; j++)
            {
                cumulative += options.AttributeFractions[j];
                int end = j == a - 1 ? rest.Count : (int)Math.Round(cumulative * rest.Count, MidpointRounding.AwayFromZero);
                for (int i = start; i < end; i++) train.Add((rest[i], y, (y + j) % a));
                start = end;
            }
            var testList = testByLabel[y];
            int perGroup = options.TestPerGroup is int p ? Math.Min(p, testList.Count / a) : testList.Count / a;
            for (int i = 0; i < perGroup * a; i++) test.Add((testList[i], y, i / perGroup));
        }
        return new DatasetSplits(
            SpuriousFashionMnist.Make(files.TrainImages.Data, SpuriousFashionMnist.Shuffled(train, seeds.Random("train-shuffle")), scheme, palette, device),
            SpuriousFashionMnist.Make(files.TrainImages.Data, SpuriousFashionMnist.Shuffled(val, seeds.Random("validation-shuffle")), scheme, palette, device),
            SpuriousFashionMnist.Make(files.TestImages.Data, SpuriousFashionMnist.Shuffled(test, seeds.Random("test-shuffle")), scheme, palette, device));
    }
}
