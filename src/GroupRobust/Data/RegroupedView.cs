using GroupRobust.Internal;
using GroupRobust.Groups;
using TorchSharp;
using static TorchSharp.torch;

namespace GroupRobust.Data;

/// <summary>
/// A view of a dataset with other group ids: the same samples, labels and inputs, and the groups of another scheme
/// (for example a validation split seen through XRM's inferred environments, so that model selection by worst-group
/// accuracy reads no group label). Build it with <c>GroupAssignment.ApplyTo(dataset)</c>. The view does not own the
/// dataset: disposing it leaves the dataset alone.
/// </summary>
public sealed class RegroupedView : IGroupDataset, IEpochAware
{
    private readonly IGroupDataset _inner;
    private readonly int[] _groups;

    /// <summary>Creates the view.</summary>
    /// <param name="dataset">The dataset (not owned).</param>
    /// <param name="scheme">The scheme of the new groups (same number of classes as the dataset).</param>
    /// <param name="groups">Group id of every sample, in [0, <see cref="GroupScheme.NumGroups"/>), consistent with the labels (g / A = y).</param>
    /// <param name="inferred">True when the groups were inferred (they are not group labels).</param>
    /// <exception cref="ArgumentException">The lengths, the class count or a group's class do not fit.</exception>
    /// <remarks>Internal: the <paramref name="inferred"/> flag lowers the label budget of selection, so it may only come from a group assignment's source (<c>GroupAssignment.ApplyTo</c>).</remarks>
    internal RegroupedView(IGroupDataset dataset, GroupScheme scheme, ReadOnlySpan<int> groups, bool inferred)
    {
        ArgumentNullException.ThrowIfNull(dataset);
        ArgumentNullException.ThrowIfNull(scheme);
        if (groups.Length != dataset.Count)
            throw new ArgumentException($"'groups' has {groups.Length} entries but the dataset has {dataset.Count} samples.", nameof(groups));
        if (scheme.NumClasses != dataset.Scheme.NumClasses)
            throw new ArgumentException($"The scheme has {scheme.NumClasses} classes but the dataset has {dataset.Scheme.NumClasses}.", nameof(scheme));
        Guard.GroupsMatchLabels(dataset.Labels.Span, groups, scheme.NumGroups, scheme.NumAttributes, nameof(groups));
        _inner = dataset is RegroupedView view ? view._inner : dataset;
        _groups = groups.ToArray();
        Scheme = scheme;
        Inferred = inferred;
    }

    /// <summary>The dataset beneath the view (never itself a regrouped view).</summary>
    internal IGroupDataset Inner => _inner;

    /// <summary>True when the view's groups were inferred, not annotated: selection on them reads no group label.</summary>
    public bool Inferred { get; }

    /// <inheritdoc />
    public int Count => _inner.Count;

    /// <inheritdoc />
    public GroupScheme Scheme { get; }

    /// <inheritdoc />
    public ReadOnlyMemory<int> Labels => _inner.Labels;

    /// <summary>Always true.</summary>
    public bool HasGroups => true;

    /// <inheritdoc />
    public ReadOnlyMemory<int> Groups => _groups;

    /// <inheritdoc />
    public Device Device => _inner.Device;

    /// <inheritdoc />
    public Batch GetBatch(ReadOnlySpan<long> indices)
    {
        var batch = _inner.GetBatch(indices);
        batch.Groups?.Dispose();
        var ids = new long[indices.Length];
        for (int i = 0; i < ids.Length; i++) ids[i] = _groups[indices[i]];
        return new Batch(batch.Inputs, batch.Labels, HostUpload.Int64(ids, batch.Labels.device), batch.Indices) { Origin = this };
    }

    /// <summary>Does nothing: the view owns no storage.</summary>
    public void Dispose()
    {
    }

    /// <summary>Passes the epoch on to the underlying dataset when it is epoch-aware (train-time augmentation).</summary>
    public void SetEpoch(int epoch) => (_inner as IEpochAware)?.SetEpoch(epoch);
}
