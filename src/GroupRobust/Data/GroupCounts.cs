namespace GroupRobust.Data;

/// <summary>Per-group and per-class sample counts of a dataset (host-side; no tensors involved).</summary>
public static class GroupCounts
{
    /// <summary>Number of samples in each group (length C * A).</summary>
    /// <exception cref="InvalidOperationException">The dataset has no group annotations.</exception>
    public static long[] Of(IGroupDataset dataset)
    {
        ArgumentNullException.ThrowIfNull(dataset);
        if (!dataset.HasGroups)
            throw new InvalidOperationException("The dataset has no group annotations, so group counts are unknown.");
        var counts = new long[dataset.Scheme.NumGroups];
        foreach (var g in dataset.Groups.Span) counts[g]++;
        return counts;
    }

    /// <summary>Number of samples of each class (length C).</summary>
    public static long[] OfClasses(IGroupDataset dataset)
    {
        ArgumentNullException.ThrowIfNull(dataset);
        var counts = new long[dataset.Scheme.NumClasses];
        foreach (var y in dataset.Labels.Span) counts[y]++;
        return counts;
    }
}
