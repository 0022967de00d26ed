namespace GroupRobust.Mixing;

/// <summary>
/// The partners drawn for one batch by <see cref="ClassConditionalMixer.DrawPartners(GroupRobust.Data.Batch)"/> (or
/// <see cref="GroupJm1Mixer"/>): for row i, the dataset index of its partner, whether it is mixed at all (a sample
/// without an eligible partner is paired with itself and left unmixed), and whether it is on the minority side.
/// Fetch the partners with <c>dataset.GetBatch(plan.PartnerIndices)</c>.
/// </summary>
public sealed class MixPlan
{
    internal MixPlan(long[] indices, long[] partners, bool[] mixed, bool[] onMinoritySide)
    {
        Indices = indices;
        PartnerIndices = partners;
        Mixed = mixed;
        OnMinoritySide = onMinoritySide;
    }

    /// <summary>The batch's dataset indices.</summary>
    public IReadOnlyList<long> Indices { get; }

    /// <summary>The partner of each row (the row's own index when it is not mixed); pass it to <c>GetBatch</c>.</summary>
    public long[] PartnerIndices { get; }

    /// <summary>Whether each row has a partner.</summary>
    public IReadOnlyList<bool> Mixed { get; }

    /// <summary>Whether each row is in a minority group (the error set, for an error-set assignment).</summary>
    public IReadOnlyList<bool> OnMinoritySide { get; }

    /// <summary>Number of rows.</summary>
    public int Count => PartnerIndices.Length;

    /// <summary>Number of mixed rows.</summary>
    public int MixedCount => Mixed.Count(m => m);
}
