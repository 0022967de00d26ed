using GroupRobust.Data;
using GroupRobust.Identification;

namespace GroupRobust.Sampling;

/// <summary>
/// GroupDRO's group-balanced sampler: per-sample weight N / N_g and N draws with replacement per epoch, so every
/// non-empty group of a <see cref="GroupAssignment"/> (true groups, or any identifier's inferred groups) is drawn
/// equally often in expectation. Drawing the group uniformly among non-empty groups and then
/// a sample uniformly within it is exactly that distribution (P(i) = (1 / N_{g_i}) / G'), computed in O(1) per draw.
/// Each enumeration yields a new epoch (the generator advances per epoch).
/// </summary>
public sealed class GroupBalancedSampler : EpochSampler
{
    private readonly int[][] _members;
    private readonly int _count;

    /// <summary>Creates the sampler over the groups of <paramref name="groups"/>.</summary>
    /// <param name="groups">The training split's groups: <see cref="GroupAssignment.FromTrueGroups"/> or an identifier's output.</param>
    /// <param name="seed">Seed; epoch e's draws depend only on (seed, e).</param>
    /// <param name="epochLength">Draws per epoch, at least 1; N (the dataset size) by default.</param>
    public GroupBalancedSampler(GroupAssignment groups, long seed, int? epochLength = null) : base(seed)
    {
        ArgumentNullException.ThrowIfNull(groups);
        if (epochLength is < 1) throw new ArgumentOutOfRangeException(nameof(epochLength), epochLength, "Must be >= 1.");
        var lists = Enumerable.Range(0, groups.NumGroups).Select(g => groups.MembersOf(g).ToArray()).ToArray();
        _members = lists.Where(l => l.Length > 0).ToArray();
        GroupSizes = lists.Select(l => l.Length).ToArray();
        _count = epochLength ?? groups.Count;
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
