using GroupRobust.Groups;
using static TorchSharp.torch;

namespace GroupRobust.Data;

/// <summary>
/// A view of a dataset without its group annotations: the same samples, labels and inputs, <see cref="HasGroups"/>
/// false and batches without group ids. What a method whose label budget excludes training groups is handed, so that no
/// code path of it can read them. The view does not own the dataset: disposing it leaves the dataset alone.
/// </summary>
public sealed class UngroupedView : IGroupDataset, IEpochAware
{
    private readonly IGroupDataset _inner;

    /// <summary>Creates the view.</summary>
    /// <param name="dataset">The dataset (not owned).</param>
    public UngroupedView(IGroupDataset dataset)
    {
        ArgumentNullException.ThrowIfNull(dataset);
        _inner = dataset is UngroupedView view ? view._inner : dataset;
    }

    /// <summary>The dataset beneath the view, with its annotations (never itself an ungrouped view).</summary>
    internal IGroupDataset Inner => _inner;

    /// <inheritdoc />
    public int Count => _inner.Count;

    /// <inheritdoc />
    public GroupScheme Scheme => _inner.Scheme;

    /// <inheritdoc />
    public ReadOnlyMemory<int> Labels => _inner.Labels;

    /// <summary>Always false: the view hides the group annotations.</summary>
    public bool HasGroups => false;

    /// <summary>Always empty.</summary>
    public ReadOnlyMemory<int> Groups => ReadOnlyMemory<int>.Empty;

    /// <inheritdoc />
    public Device Device => _inner.Device;

    /// <inheritdoc />
    public Batch GetBatch(ReadOnlySpan<long> indices)
    {
        var batch = _inner.GetBatch(indices);
        batch.Groups?.Dispose();
        return new Batch(batch.Inputs, batch.Labels, null, batch.Indices) { Origin = this };
    }

    /// <summary>Does nothing: the view owns no storage.</summary>
    public void Dispose()
    {
    }

    /// <summary>Passes the epoch on to the underlying dataset when it is epoch-aware (train-time augmentation).</summary>
    public void SetEpoch(int epoch) => (_inner as IEpochAware)?.SetEpoch(epoch);
}
