namespace GroupRobust.Distributed;

/// <summary>
/// Where a batch sits in a larger, global batch: this part holds rows [<see cref="Start"/>, <see cref="Start"/> +
/// <see cref="Length"/>) of <see cref="GlobalIndices"/>. Data-parallel training (GroupRobust.Distributed: every process
/// takes one part of each global batch) passes it with the part's batch to <see cref="DataParallel.PartLoss"/>, so that a
/// method whose loss draws randomness over the batch (JM1's partners, alpha, the mixing layer) draws it for the global
/// batch, exactly as one process with the whole batch would, and keeps the draws of this part; every part of a global
/// batch then advances the method's generators identically.
/// </summary>
public sealed class BatchShard
{
    private readonly long[] _global;

    /// <summary>Creates the description of one part.</summary>
    /// <param name="globalIndices">The dataset indices of the whole global batch, in order (at least one; copied).</param>
    /// <param name="start">First row of this part, in [0, globalIndices.Length].</param>
    /// <param name="length">Rows of this part, in [0, globalIndices.Length - start]; 0 for a part that takes no rows of a short last batch.</param>
    /// <exception cref="ArgumentException"><paramref name="globalIndices"/> is empty.</exception>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="start"/> or <paramref name="length"/> is outside the global batch.</exception>
    public BatchShard(ReadOnlySpan<long> globalIndices, int start, int length)
    {
        if (globalIndices.Length == 0) throw new ArgumentException("The global batch is empty.", nameof(globalIndices));
        if ((uint)start > (uint)globalIndices.Length)
            throw new ArgumentOutOfRangeException(nameof(start), start, $"The part must start in [0, {globalIndices.Length}] (the global batch's rows).");
        if (length < 0 || length > globalIndices.Length - start)
            throw new ArgumentOutOfRangeException(nameof(length), length, $"A part starting at row {start} of a {globalIndices.Length}-row global batch has between 0 and {globalIndices.Length - start} rows.");
        _global = globalIndices.ToArray();
        Start = start;
        Length = length;
    }

    /// <summary>The dataset indices of the whole global batch, in order.</summary>
    public IReadOnlyList<long> GlobalIndices => _global;

    /// <summary>First row of this part in the global batch.</summary>
    public int Start { get; }

    /// <summary>Number of rows of this part (possibly 0).</summary>
    public int Length { get; }

    /// <summary>The dataset indices of this part's rows: GlobalIndices[Start .. Start + Length).</summary>
    public ReadOnlySpan<long> LocalIndices => _global.AsSpan(Start, Length);

    internal long[] Global => _global;

    /// <inheritdoc />
    public override string ToString() => $"rows [{Start}, {Start + Length}) of a {_global.Length}-row global batch";
}
