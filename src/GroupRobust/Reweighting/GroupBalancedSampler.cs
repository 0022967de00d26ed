using GroupRobust.Data;

namespace GroupRobust.Reweighting;

/// <summary>
/// GroupDRO's group-balanced sampler: per-sample weight N / N_g and N draws with replacement per epoch, so every
/// non-empty group is drawn equally often in expectation. Drawing the group uniformly among non-empty groups and then
/// a sample uniformly within it is exactly that distribution (P(i) = (1 / N_{g_i}) / G'), computed in O(1) per draw.
/// Each enumeration yields a new epoch (the generator advances per epoch).
/// </summary>
public sealed class GroupBalancedSampler : EpochSampler
{
    private readonly int[][] _members;
    private readonly int _count;

    /// <summary>Creates the sampler for a dataset with group labels.</summary>
    /// <param name="dataset">The training split (needs group labels).</param>
    /// <param name="seed">Seed; epoch e's draws depend only on (seed, e).</param>
    /// <param name="epochLength">Draws per epoch; N (the dataset size) by default.</param>
    /// <exception cref="InvalidOperationException">The dataset has no group labels.</exception>
    public GroupBalancedSampler(IGroupDataset dataset, long seed, int? epochLength = null) : base(seed)
    {
        ArgumentNullException.ThrowIfNull(dataset);
        if (!dataset.HasGroups)
            throw new InvalidOperationException("Group-balanced sampling needs group labels, but the dataset has none.");
        if (epochLength is < 1) throw new ArgumentOutOfRangeException(nameof(epochLength), epochLength, "Must be >= 1.");
        var groups = dataset.Groups.Span;
        var lists = Enumerable.Range(0, dataset.Scheme.NumGroups).Select(_ => new List<int>()).ToArray();
        for (int i = 0; i < groups.Length; i++) lists[groups[i]].Add(i);
        _members = lists.Where(l => l.Count > 0).Select(l => l.ToArray()).ToArray();
        GroupSizes = lists.Select(l => l.Count).ToArray();
        _count = epochLength ?? dataset.Count;
    }

    /// <summary>N_g of every group of the scheme (empty groups are never drawn).</summary>
    public IReadOnlyList<int> GroupSizes { get; }

    /// <inheritdoc />
    public override long EpochLength => _count;

    /// <summary>The sampling probability of one sample of group <paramref name="group"/>: (1 / N_g) / G', or 0 for an empty group.</summary>
    public double Probability(int group)
    {
        if ((uint)group >= (uint)GroupSizes.Count)
            throw new ArgumentOutOfRangeException(nameof(group), group, $"Group must be in [0, {GroupSizes.Count - 1}].");
        return GroupSizes[group] == 0 ? 0 : 1.0 / GroupSizes[group] / _members.Length;
    }

    /// <inheritdoc />
    protected override long[] Generate(int epoch, Random rng)
    {
        var draws = new long[_count];
        for (int i = 0; i < draws.Length; i++)
        {
            var members = _members[rng.Next(_members.Length)];
            draws[i] = members[rng.Next(members.Length)];
        }
        return draws;
    }
}
