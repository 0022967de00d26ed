namespace GroupRobust.Mixing;

/// <summary>
/// The partners drawn for one batch by <see cref="ClassConditionalMixer.DrawPartners(GroupRobust.Data.Batch)"/>: for
/// row i, the dataset index of its partner, whether it is mixed at all (a sample without an eligible partner is
/// paired with itself and left unmixed), and which side of the partition it is on.
/// </summary>
public sealed class MixPlan
{
    internal MixPlan(long[] indices, long[] partners, bool[] mixed, bool[] inErrorSet)
    {
        Indices = indices;
        PartnerIndices = partners;
        Mixed = mixed;
        InErrorSet = inErrorSet;
    }

    /// <summary>The batch's dataset indices.</summary>
    public IReadOnlyList<long> Indices { get; }

    /// <summary>The partner of each row (the row's own index when it is not mixed); pass it to <c>GetBatch</c>.</summary>
    public long[] PartnerIndices { get; }

    /// <summary>Whether each row has a partner.</summary>
    public IReadOnlyList<bool> Mixed { get; }

    /// <summary>Whether each row is in the error set (minority proxy).</summary>
    public IReadOnlyList<bool> InErrorSet { get; }

    /// <summary>Number of rows.</summary>
    public int Count => PartnerIndices.Length;

    /// <summary>Number of mixed rows.</summary>
    public int MixedCount => Mixed.Count(m => m);

    /// <summary>The partner indices, so that a plan can be passed straight to <c>IGroupDataset.GetBatch</c>.</summary>
    public static implicit operator ReadOnlySpan<long>(MixPlan plan) => plan.PartnerIndices;
}
