using GroupRobust.Identification;
using GroupRobust.Sampling;

namespace GroupRobust.Methods;

/// <summary>
/// SPARE's epoch: N draws with replacement, sample i of class y and cluster g with weight 1 / |g|^p_y, the weights of
/// each class scaled to the same total (SpuCo's <c>SpareTrain</c>). Drawn as: a non-empty class uniformly, a cluster of
/// it with probability proportional to |g|^(1 - p_y), a member of the cluster uniformly; the same distribution in
/// O(log K) per draw.
/// </summary>
internal sealed class SpareSampler : EpochSampler
{
    private readonly int[][][] _clusters;     // per non-empty class: its non-empty clusters' members
    private readonly double[][] _cumulative;  // per non-empty class: the clusters' cumulative probabilities
    private readonly int _count;

    public SpareSampler(GroupAssignment groups, IReadOnlyList<double> powers, long seed) : base(seed)
    {
        int k = groups.Metadata.GroupsPerClass;
        var clusters = new List<int[][]>();
        var cumulative = new List<double[]>();
        for (int y = 0; y < groups.Metadata.NumClasses; y++)
        {
            var members = Enumerable.Range(y * k, k).Select(g => groups.MembersOf(g).ToArray()).Where(m => m.Length > 0).ToArray();
            if (members.Length == 0) continue;
            var mass = members.Select(m => Math.Pow(m.Length, 1 - powers[y])).ToArray();
            double total = mass.Sum(), running = 0;
            var cdf = new double[mass.Length];
            for (int c = 0; c < mass.Length; c++) cdf[c] = (running += mass[c]) / total;
            cdf[^1] = 1;
            clusters.Add(members);
            cumulative.Add(cdf);
        }
        _clusters = clusters.ToArray();
        _cumulative = cumulative.ToArray();
        _count = groups.Count;
    }

    public override long EpochLength => _count;

    /// <summary>The probability of drawing each sample, read from the sampler's own tables (for tests against the reference's weights).</summary>
    internal double[] Probabilities()
    {
        var p = new double[_count];
        for (int y = 0; y < _clusters.Length; y++)
            for (int c = 0; c < _clusters[y].Length; c++)
            {
                double cluster = (_cumulative[y][c] - (c == 0 ? 0 : _cumulative[y][c - 1])) / _clusters.Length;
                foreach (var i in _clusters[y][c]) p[i] = cluster / _clusters[y][c].Length;
            }
        return p;
    }

    protected override long[] Generate(int epoch, Random rng)
    {
        var draws = new long[_count];
        for (int i = 0; i < draws.Length; i++)
        {
            int y = rng.Next(_clusters.Length);
            var cdf = _cumulative[y];
            double u = rng.NextDouble();
            int c = Array.BinarySearch(cdf, u);
            c = c >= 0 ? Math.Min(c + 1, cdf.Length - 1) : ~c;
            var members = _clusters[y][c];
            draws[i] = members[rng.Next(members.Length)];
        }
        return draws;
    }
}
