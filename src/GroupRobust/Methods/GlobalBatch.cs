namespace GroupRobust.Methods;

/// <summary>
/// Where one process's part of a data-parallel step sits: rows [<see cref="Start"/>, Start + <see cref="Length"/>) of
/// the global batch <see cref="Indices"/>. GroupRobust.Distributed builds it from its public <c>BatchShard</c>; the core
/// methods draw their per-batch randomness for the whole global batch and keep the part's draws.
/// </summary>
/// <param name="Indices">The dataset indices of the global batch.</param>
/// <param name="Start">The part's first row.</param>
/// <param name="Length">The part's rows (possibly 0).</param>
internal sealed record GlobalBatch(long[] Indices, int Start, int Length)
{
    /// <inheritdoc />
    public override string ToString() => $"rows [{Start}, {Start + Length}) of a {Indices.Length}-row global batch";
}
