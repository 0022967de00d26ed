namespace GroupRobust.Mixing;

/// <summary>
/// The partners drawn for one batch by <see cref="ClassConditionalMixer.DrawPartners(GroupRobust.Data.Batch)"/> (or
/// <c>GroupJm1Mixer</c>): for row i, the dataset index of its partner, whether it is mixed at all (a sample
/// without an eligible partner is paired with itself and left unmixed), and whether it is on the minority side.
/// Fetch the partners with <c>dataset.GetBatch(plan.PartnerIndices)</c>; a plan drawn with <see cref="PartnerSource.Batch"/>
/// also says which partners are rows of the batch itself (<see cref="PartnerRows"/>) and which must be fetched
/// (<see cref="OutsidePartnerIndices"/>).
/// </summary>
public sealed class MixPlan
{
    internal MixPlan(long[] indices, long[] partners, bool[] mixed, bool[] onMinoritySide, int[]? batchRows = null)
    {
        Indices = indices;
        PartnerIndices = partners;
        Mixed = mixed;
        OnMinoritySide = onMinoritySide;
        _batchRows = batchRows;
        if (batchRows is null)
        {
            OutsidePartnerIndices = partners;
            PartnerRows = Enumerable.Range(0, partners.Length).Select(i => (long)(partners.Length + i)).ToArray();
            return;
        }
        // rows whose partner is in the batch point at it; the others at B + k, the k-th partner fetched from outside
        var outside = new List<long>();
        PartnerRows = new long[partners.Length];
        for (int i = 0; i < partners.Length; i++)
        {
            if (batchRows[i] >= 0)
            {
                PartnerRows[i] = batchRows[i];
                continue;
            }
            PartnerRows[i] = partners.Length + outside.Count;
            outside.Add(partners[i]);
        }
        OutsidePartnerIndices = outside.ToArray();
    }

    private readonly int[]? _batchRows;   // per row: its partner's row in the batch, -1 when fetched from outside; null for dataset draws

    /// <summary>
    /// The plan of rows [<paramref name="start"/>, <paramref name="start"/> + <paramref name="length"/>) alone, as if
    /// drawn for that part of the batch (data-parallel training: the plan is drawn for the global batch, each process
    /// keeps its part). An in-batch partner in the part stays a batch row (renumbered); one in another part becomes a
    /// partner fetched from outside, which gives the same mix.
    /// </summary>
    internal MixPlan Slice(int start, int length)
    {
        var indices = ((long[])Indices).AsSpan(start, length).ToArray();
        var partners = PartnerIndices.AsSpan(start, length).ToArray();
        var mixed = ((bool[])Mixed).AsSpan(start, length).ToArray();
        var side = ((bool[])OnMinoritySide).AsSpan(start, length).ToArray();
        int[]? rows = null;
        if (_batchRows is not null)
        {
            rows = new int[length];
            for (int i = 0; i < length; i++)
            {
                int r = _batchRows[start + i];
                rows[i] = r >= start && r < start + length ? r - start : -1;
            }
        }
        return new MixPlan(indices, partners, mixed, side, rows);
    }

    /// <summary>The batch's dataset indices.</summary>
    public IReadOnlyList<long> Indices { get; }

    /// <summary>The dataset index of each row's partner (the row's own index when it is not mixed).</summary>
    public long[] PartnerIndices { get; }

    /// <summary>
    /// The partners to fetch with <c>dataset.GetBatch(plan.OutsidePartnerIndices)</c>: every partner (in row order) for
    /// <see cref="PartnerSource.Dataset"/>; only those not found in the batch for <see cref="PartnerSource.Batch"/>
    /// (possibly none).
    /// </summary>
    public long[] OutsidePartnerIndices { get; }

    /// <summary>
    /// Where row i's partner is in the concatenation [batch rows; outside partners]: a row in [0, B) is a batch row, B + k
    /// the k-th outside partner. Pass it to <see cref="MixedForwardPass.Run(TorchSharp.torch.Tensor, TorchSharp.torch.Tensor?, IReadOnlyList{long}, TorchSharp.torch.Tensor, string?)"/>.
    /// </summary>
    public long[] PartnerRows { get; }

    /// <summary>Number of mixed rows whose partner is a row of the batch (0 for <see cref="PartnerSource.Dataset"/>).</summary>
    public int InBatchCount => Enumerable.Range(0, Count).Count(i => Mixed[i] && PartnerRows[i] < Count);

    /// <summary>Whether each row has a partner.</summary>
    public IReadOnlyList<bool> Mixed { get; }

    /// <summary>Whether each row is in a minority group (the error set, for an error-set assignment).</summary>
    public IReadOnlyList<bool> OnMinoritySide { get; }

    /// <summary>Number of rows.</summary>
    public int Count => PartnerIndices.Length;

    /// <summary>Number of mixed rows.</summary>
    public int MixedCount => Mixed.Count(m => m);
}
