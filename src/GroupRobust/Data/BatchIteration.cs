namespace GroupRobust.Data;

/// <summary>Mini-batch iteration over an <see cref="IGroupDataset"/>.</summary>
/// <remarks>
/// Each batch is valid until the iteration advances: the iterator disposes the previous batch when it moves on
/// (and the last one when the loop ends), so a loop body that opens its own dispose scope leaks nothing. To keep a
/// batch's tensors longer, clone them.
/// </remarks>
public static class BatchIteration
{
    /// <summary>One epoch in a random order drawn from <paramref name="rng"/>, or in dataset order when it is null.</summary>
    /// <param name="dataset">The dataset.</param>
    /// <param name="batchSize">Samples per batch, at least 1.</param>
    /// <param name="rng">Shuffling generator (advanced by each call), or null for sequential order.</param>
    /// <param name="dropLast">Drop a final batch smaller than <paramref name="batchSize"/>.</param>
    public static IEnumerable<Batch> Batches(this IGroupDataset dataset, int batchSize, Random? rng = null, bool dropLast = false)
    {
        ArgumentNullException.ThrowIfNull(dataset);
        ArgumentOutOfRangeException.ThrowIfLessThan(batchSize, 1);
        var order = Randomness.Shuffling.Identity(dataset.Count);
        if (rng is not null) Randomness.Shuffling.Shuffle(order.AsSpan(), rng);
        return Batches(dataset, order, batchSize, dropLast);
    }

    /// <summary>The dataset without its group annotations (<see cref="UngroupedView"/>; <paramref name="dataset"/> itself when it has none).</summary>
    public static IGroupDataset WithoutGroupLabels(this IGroupDataset dataset)
    {
        ArgumentNullException.ThrowIfNull(dataset);
        return dataset.HasGroups ? new UngroupedView(dataset) : dataset;
    }

    /// <summary>Batches in the order of an index sequence, for example one epoch of a sampler (GroupRobust.Sampling).</summary>
    /// <param name="dataset">The dataset.</param>
    /// <param name="indices">The indices to visit (enumerated once).</param>
    /// <param name="batchSize">Samples per batch, at least 1.</param>
    /// <param name="dropLast">Drop a final batch smaller than <paramref name="batchSize"/>.</param>
    public static IEnumerable<Batch> Batches(this IGroupDataset dataset, IEnumerable<long> indices, int batchSize, bool dropLast = false)
    {
        ArgumentNullException.ThrowIfNull(dataset);
        ArgumentNullException.ThrowIfNull(indices);
        ArgumentOutOfRangeException.ThrowIfLessThan(batchSize, 1);
        return Iterate(dataset, indices, batchSize, dropLast);
    }

    private static IEnumerable<Batch> Iterate(IGroupDataset dataset, IEnumerable<long> indices, int batchSize, bool dropLast)
    {
        var buffer = new List<long>(batchSize);
        Batch? current = null;
        try
        {
            foreach (var index in indices)
            {
                buffer.Add(index);
                if (buffer.Count < batchSize) continue;
                current?.Dispose();
                current = Fetch(dataset, buffer);
                buffer.Clear();
                yield return current;
            }
            if (buffer.Count > 0 && !dropLast)
            {
                current?.Dispose();
                current = Fetch(dataset, buffer);
                yield return current;
            }
        }
        finally
        {
            current?.Dispose();
        }
    }

    /// <summary>
    /// Batches in the order of <paramref name="indices"/>, as <see cref="Batches(IGroupDataset, IEnumerable{long}, int, bool)"/>,
    /// with the next batch gathered on a worker thread while the caller works on the current one (decoding images
    /// overlaps training). The batches, their order and their contents are the same; an error while gathering a batch
    /// surfaces when the caller reaches that batch. Requirement: the dataset's <c>GetBatch</c> may run on the worker
    /// while the caller fetches partners from the same dataset, so it must be thread-safe and must not draw from
    /// TorchSharp's global generator (which the caller's dropout also uses). The library's datasets are read-only and
    /// draw nothing at random (augmentation is seeded per sample); a <see cref="TorchDatasetAdapter"/> or a
    /// <see cref="TensorGroupDataset"/> transform is only as safe as the code it wraps.
    /// </summary>
    /// <param name="dataset">The dataset.</param>
    /// <param name="indices">The indices to visit (enumerated once, on the caller's thread).</param>
    /// <param name="batchSize">Samples per batch, at least 1.</param>
    /// <param name="dropLast">Drop a final batch smaller than <paramref name="batchSize"/>.</param>
    public static IEnumerable<Batch> PrefetchedBatches(this IGroupDataset dataset, IEnumerable<long> indices, int batchSize, bool dropLast = false)
    {
        ArgumentNullException.ThrowIfNull(dataset);
        ArgumentNullException.ThrowIfNull(indices);
        ArgumentOutOfRangeException.ThrowIfLessThan(batchSize, 1);
        return IteratePrefetched(dataset, indices, batchSize, dropLast);
    }

    private static IEnumerable<long[]> Chunks(IEnumerable<long> indices, int batchSize, bool dropLast)
    {
        var buffer = new List<long>(batchSize);
        foreach (var index in indices)
        {
            buffer.Add(index);
            if (buffer.Count < batchSize) continue;
            yield return buffer.ToArray();
            buffer.Clear();
        }
        if (buffer.Count > 0 && !dropLast) yield return buffer.ToArray();
    }

    private static IEnumerable<Batch> IteratePrefetched(IGroupDataset dataset, IEnumerable<long> indices, int batchSize, bool dropLast)
    {
        using var chunks = Chunks(indices, batchSize, dropLast).GetEnumerator();
        Task<Batch>? next = chunks.MoveNext() ? Start(dataset, chunks.Current) : null;
        Batch? current = null;
        try
        {
            while (next is not null)
            {
                var batch = next.GetAwaiter().GetResult();
                next = null;
                current?.Dispose();
                current = batch;
                if (chunks.MoveNext()) next = Start(dataset, chunks.Current);
                yield return current;
            }
        }
        finally
        {
            current?.Dispose();
            if (next is not null)
            {
                try
                {
                    next.GetAwaiter().GetResult().Dispose();   // the batch gathered for an iteration that ended early
                }
                catch (Exception)
                {
                    // the loop already ended (or failed); an error of the batch nobody asked for is not the caller's
                }
            }
        }
    }

    private static Task<Batch> Start(IGroupDataset dataset, long[] indices)
        => Task.Run(() => Fetch(dataset, indices));

    private static Batch Fetch(IGroupDataset dataset, long[] indices)
    {
        using var scope = TorchSharp.torch.NewDisposeScope();
        return dataset.GetBatch(indices).DetachFromDisposeScope();
    }

    private static Batch Fetch(IGroupDataset dataset, List<long> indices)
    {
        using var scope = TorchSharp.torch.NewDisposeScope();
        return dataset.GetBatch(System.Runtime.InteropServices.CollectionsMarshal.AsSpan(indices)).DetachFromDisposeScope();
    }
}
