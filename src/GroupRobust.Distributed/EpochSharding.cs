using GroupRobust.Data;

namespace GroupRobust.Distributed;

/// <summary>
/// Splits one global epoch order among the ranks of a job, step by step: every rank computes the same global order
/// (the library's samplers are pure functions of the seed and the epoch), cuts it into global batches of
/// <c>globalBatchSize</c>, and takes its contiguous part of each, so that N ranks with B / N rows each take the step one
/// process with B rows would. Every rank gets the same number of steps; in a last, short global batch a rank's part
/// can be empty, and it still takes part in that step (fetch it with <c>dataset.GetBatch(part)</c>, which gives a batch
/// of zero rows, and call the method's <c>Loss</c>: methods draw their per-batch randomness for the whole global batch).
/// </summary>
public static class EpochSharding
{
    /// <summary>This rank's part of every global batch of <paramref name="globalOrder"/>, one per step (possibly empty in the last step).</summary>
    /// <param name="globalOrder">The epoch's order, the same on every rank (for example <c>method.BeginEpoch(epoch, total)</c>).</param>
    /// <param name="globalBatchSize">Rows per global batch, a positive multiple of <paramref name="size"/>.</param>
    /// <param name="rank">This rank, in [0, <paramref name="size"/>).</param>
    /// <param name="size">The number of ranks, at least 1.</param>
    /// <exception cref="ArgumentOutOfRangeException">A size, rank or batch size out of range.</exception>
    public static IEnumerable<BatchShard> Shards(IEnumerable<long> globalOrder, int globalBatchSize, int rank, int size)
    {
        ArgumentNullException.ThrowIfNull(globalOrder);
        ArgumentOutOfRangeException.ThrowIfLessThan(size, 1);
        if ((uint)rank >= (uint)size) throw new ArgumentOutOfRangeException(nameof(rank), rank, $"The rank must be in [0, {size}).");
        CheckGlobalBatch(globalBatchSize, size);
        return Iterate(globalOrder, globalBatchSize, rank, size);
    }

    /// <summary>The global batch must be a positive multiple of the job's size (checked here and, before an epoch begins, by <c>DataParallel.TrainEpoch</c>).</summary>
    /// <exception cref="ArgumentOutOfRangeException">It is not.</exception>
    internal static void CheckGlobalBatch(int globalBatchSize, int size)
    {
        if (globalBatchSize < size || globalBatchSize % size != 0)
            throw new ArgumentOutOfRangeException(nameof(globalBatchSize), globalBatchSize, $"The global batch must be a positive multiple of the {size} ranks, so that every rank takes the same share.");
    }

    /// <summary>This rank's part of every global batch (see <see cref="Shards(IEnumerable{long}, int, int, int)"/>), for the job of <paramref name="collective"/>.</summary>
    public static IEnumerable<BatchShard> Shards(IEnumerable<long> globalOrder, int globalBatchSize, ICollective collective)
    {
        ArgumentNullException.ThrowIfNull(collective);
        return Shards(globalOrder, globalBatchSize, collective.Rank, collective.Size);
    }

    /// <summary>The part of <paramref name="count"/> rows that <paramref name="rank"/> of <paramref name="size"/> takes: [start, start + length), contiguous, in rank order, lengths differing by at most one.</summary>
    public static (int Start, int Length) PartOf(int count, int rank, int size)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(count);
        ArgumentOutOfRangeException.ThrowIfLessThan(size, 1);
        if ((uint)rank >= (uint)size) throw new ArgumentOutOfRangeException(nameof(rank), rank, $"The rank must be in [0, {size}).");
        int baseLength = count / size, extra = count % size;
        int start = rank * baseLength + Math.Min(rank, extra);
        return (start, baseLength + (rank < extra ? 1 : 0));
    }

    /// <summary>
    /// This rank's contiguous share of the rows 0..<paramref name="count"/>-1, cut at multiples of
    /// <paramref name="batchSize"/> (evaluation and identification split a dataset this way): every rank's batches are
    /// then exactly batches of the one-process pass, so even kernels whose rounding depends on the batch shape give the
    /// one-process numbers.
    /// </summary>
    internal static long[] RowsOf(int count, int batchSize, ICollective collective)
    {
        int batches = (count + batchSize - 1) / batchSize;
        var (first, length) = PartOf(batches, collective.Rank, collective.Size);
        long start = (long)first * batchSize, end = Math.Min(count, (long)(first + length) * batchSize);
        var rows = new long[Math.Max(0, end - start)];
        for (int i = 0; i < rows.Length; i++) rows[i] = start + i;
        return rows;
    }

    private static IEnumerable<BatchShard> Iterate(IEnumerable<long> globalOrder, int globalBatchSize, int rank, int size)
    {
        var batch = new List<long>(globalBatchSize);
        foreach (var index in globalOrder)
        {
            batch.Add(index);
            if (batch.Count < globalBatchSize) continue;
            yield return Take(batch, rank, size);
            batch.Clear();
        }
        if (batch.Count > 0) yield return Take(batch, rank, size);
    }

    private static BatchShard Take(List<long> batch, int rank, int size)
    {
        var (start, length) = PartOf(batch.Count, rank, size);
        return new BatchShard(System.Runtime.InteropServices.CollectionsMarshal.AsSpan(batch), start, length);
    }
}
