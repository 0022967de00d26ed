using GroupRobust.Groups;
using GroupRobust.Randomness;
using MathNet.Numerics.Distributions;
using TorchSharp;
using static TorchSharp.torch;

namespace GroupRobust.Data;

/// <summary>
/// The synthetic task of the JM1 paper's Appendix C: binary label y, binary spurious attribute c, and
/// <c>h | c, y ~ N((s c, y, 0, ..., 0), sigma^2 I_d)</c> (s = <see cref="SyntheticGaussianOptions.SpuriousScale"/>, 1 by default as in the paper). In training, a fraction
/// <see cref="SyntheticGaussianOptions.MinorityFraction"/> of each class has c != y (the minority groups);
/// validation and test are group-balanced. Groups follow <c>g = 2y + c</c>.
/// </summary>
/// <remarks>
/// Group counts are exact (rounded per class), not sampled, so tests can rely on them. Features are float32 on
/// the CPU; move a split with <see cref="TensorGroupDataset.To"/>.
/// </remarks>
public static class SyntheticGaussianDataset
{
    /// <summary>The scheme of the task: classes y0/y1, attribute values c0/c1.</summary>
    public static GroupScheme Scheme { get; } = GroupScheme.Binary(["y0", "y1"], ["c0", "c1"]);

    /// <summary>Generates the three splits.</summary>
    /// <param name="options">Sizes, minority fraction, dimension, noise and seed; defaults when null.</param>
    public static DatasetSplits Create(SyntheticGaussianOptions? options = null)
    {
        options ??= new SyntheticGaussianOptions();
        options.Validate();
        var seeds = new SeedSource(options.Seed);
        var train = Generate(TrainCounts(options.TrainSize, options.MinorityFraction), options, seeds.Random("train"));
        var val = Generate(Balanced(options.ValidationSize), options, seeds.Random("validation"));
        var test = Generate(Balanced(options.TestSize), options, seeds.Random("test"));
        return new DatasetSplits(train, val, test);
    }

    /// <summary>Training counts per group (g = 2y + c): each class has n/2 samples (the first gets the odd one), of which round(p n_y) are minority.</summary>
    public static int[] TrainCounts(int size, double minorityFraction)
    {
        int n0 = (size + 1) / 2, n1 = size / 2;
        int m0 = (int)Math.Round(minorityFraction * n0, MidpointRounding.AwayFromZero);
        int m1 = (int)Math.Round(minorityFraction * n1, MidpointRounding.AwayFromZero);
        // g0 = (y0, c0) majority, g1 = (y0, c1) minority, g2 = (y1, c0) minority, g3 = (y1, c1) majority
        return [n0 - m0, m0, m1, n1 - m1];
    }

    private static int[] Balanced(int size) => [.. Enumerable.Range(0, 4).Select(g => size / 4 + (g < size % 4 ? 1 : 0))];

    private static TensorGroupDataset Generate(int[] groupCounts, SyntheticGaussianOptions o, Random rng)
    {
        int n = groupCounts.Sum(), d = o.Dimensions;
        var groups = new int[n];
        for (int g = 0, k = 0; g < 4; g++)
            for (int i = 0; i < groupCounts[g]; i++) groups[k++] = g;
        Shuffling.Shuffle(groups.AsSpan(), rng);

        var features = new float[n * d];
        var labels = new long[n];
        var attrs = new long[n];
        var noise = new Normal(0, o.Sigma, rng);
        for (int i = 0; i < n; i++)
        {
            int y = groups[i] / 2, c = groups[i] % 2;
            labels[i] = y;
            attrs[i] = c;
            for (int k = 0; k < d; k++)
            {
                double mean = k == 0 ? o.SpuriousScale * c : k == 1 ? y : 0;
                features[i * d + k] = (float)(mean + noise.Sample());
            }
        }

        using var scope = NewDisposeScope();
        return new TensorGroupDataset(torch.tensor(features, [n, d]), torch.tensor(labels), Scheme, torch.tensor(attrs));
    }
}
