using GroupRobust.Internal;
using GroupRobust.Groups;
using TorchSharp;
using static TorchSharp.torch;

namespace GroupRobust.Data;

/// <summary>
/// Base class of the library's datasets, and the easy way to write your own: it keeps labels and group ids on the
/// host, validates batch indices, and builds the label and group tensors; a subclass only gathers the inputs.
/// </summary>
public abstract class GroupDatasetBase : IGroupDataset
{
    private readonly int[] _labels;
    private readonly int[] _groups;

    /// <summary>Validates and stores the labels and (optional) attributes.</summary>
    /// <param name="scheme">The group structure.</param>
    /// <param name="labels">Label per sample, in [0, C); at least one sample.</param>
    /// <param name="attributes">Attribute per sample, in [0, A), or null when the dataset has no group annotations.</param>
    /// <param name="device">Device batches are returned on.</param>
    /// <param name="describe">Names sample i in error messages (e.g. "metadata.csv, line 12"); "sample i" by default.</param>
    /// <exception cref="ArgumentException">No samples, or the attributes have another length.</exception>
    /// <exception cref="ArgumentOutOfRangeException">A label or attribute is out of range.</exception>
    protected GroupDatasetBase(GroupScheme scheme, IReadOnlyList<int> labels, IReadOnlyList<int>? attributes, Device device, Func<int, string>? describe = null)
    {
        ArgumentNullException.ThrowIfNull(scheme);
        ArgumentNullException.ThrowIfNull(labels);
        ArgumentNullException.ThrowIfNull(device);
        if (labels.Count == 0) throw new ArgumentException("The dataset has no samples.", nameof(labels));
        if (attributes is not null && attributes.Count != labels.Count)
            throw new ArgumentException($"'attributes' has {attributes.Count} entries but 'labels' has {labels.Count}.", nameof(attributes));
        describe ??= i => $"sample {i}";
        _labels = labels.ToArray();
        for (int i = 0; i < _labels.Length; i++)
            if ((uint)_labels[i] >= (uint)scheme.NumClasses)
                throw new ArgumentOutOfRangeException(nameof(labels), _labels[i], $"{describe(i)}: label {_labels[i]} is out of range [0, {scheme.NumClasses - 1}].");
        _groups = attributes is null ? [] : new int[_labels.Length];
        for (int i = 0; i < _groups.Length; i++)
        {
            if ((uint)attributes![i] >= (uint)scheme.NumAttributes)
                throw new ArgumentOutOfRangeException(nameof(attributes), attributes[i], $"{describe(i)}: attribute {attributes[i]} is out of range [0, {scheme.NumAttributes - 1}].");
            _groups[i] = _labels[i] * scheme.NumAttributes + attributes[i];
        }
        Scheme = scheme;
        Device = device;
    }

    /// <inheritdoc />
    public int Count => _labels.Length;

    /// <inheritdoc />
    public GroupScheme Scheme { get; }

    /// <inheritdoc />
    public ReadOnlyMemory<int> Labels => _labels;

    /// <inheritdoc />
    public bool HasGroups => _groups.Length > 0;

    /// <inheritdoc />
    public ReadOnlyMemory<int> Groups => _groups;

    /// <inheritdoc />
    public Device Device { get; }

    /// <inheritdoc />
    public Batch GetBatch(ReadOnlySpan<long> indices)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        if (indices.Length == 0) throw new ArgumentException("At least one index is needed.", nameof(indices));
        var idx = indices.ToArray();
        for (int i = 0; i < idx.Length; i++)
            if ((ulong)idx[i] >= (ulong)Count)
                throw new ArgumentOutOfRangeException(nameof(indices), idx[i], $"Index at position {i} is {idx[i]}; the dataset has {Count} samples.");
        using var scope = NewDisposeScope();
        var x = GatherInputs(idx);
        var y = HostUpload.Int64(idx.Select(i => (long)_labels[i]).ToArray(), Device);
        var g = HasGroups ? HostUpload.Int64(idx.Select(i => (long)_groups[i]).ToArray(), Device) : null;
        return new Batch(x, y, g, idx) { Origin = this }.MoveToOuterDisposeScope();
    }

    /// <summary>Frees the storage the dataset owns (see <see cref="Dispose(bool)"/>).</summary>
    public void Dispose()
    {
        if (_disposed) return;
        _disposed = true;
        Dispose(true);
        GC.SuppressFinalize(this);
    }

    private bool _disposed;

    /// <summary>Frees owned storage; the base class owns none. Subclasses that own tensors override it and call the base.</summary>
    /// <param name="disposing">True when called from <see cref="Dispose()"/>.</param>
    protected virtual void Dispose(bool disposing)
    {
    }

    /// <summary>The inputs of <paramref name="indices"/> (already validated), stacked along dimension 0, on <see cref="Device"/>.</summary>
    /// <remarks>Called inside a dispose scope owned by <see cref="GetBatch"/>; return a tensor created in it.</remarks>
    protected abstract Tensor GatherInputs(long[] indices);
}
