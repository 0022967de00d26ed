using GroupRobust.Groups;
using GroupRobust.Internal;
using TorchSharp;
using static TorchSharp.torch;

namespace GroupRobust.Data;

/// <summary>
/// An in-memory <see cref="IGroupDataset"/> backed by one input tensor. Batches are gathered with a single
/// <c>index_select</c> (no per-sample collation) and an optional per-batch transform, so inputs can be stored
/// compactly (for example as uint8 images) and converted only for the batch in use.
/// </summary>
public sealed class TensorGroupDataset : IGroupDataset, IDisposable
{
    private readonly Tensor _inputs;
    private readonly Tensor _labels;
    private readonly Tensor? _groups;
    private readonly int[] _hostLabels;
    private readonly int[] _hostGroups;
    private readonly Func<Tensor, Tensor>? _transform;

    /// <summary>Creates a dataset. The dataset keeps its own aliases of the tensors; the caller's tensors are never disposed by it.</summary>
    /// <param name="inputs">Inputs [N, ...] on the device batches should come back on.</param>
    /// <param name="labels">Integer labels [N] in [0, C).</param>
    /// <param name="scheme">The group structure; its class count bounds the labels.</param>
    /// <param name="attributes">Optional integer attribute values [N] in [0, A); with them every sample gets the group y * A + a.</param>
    /// <param name="transform">Optional per-batch transform applied to gathered inputs (for example uint8 to float scaling).</param>
    /// <exception cref="ArgumentException">Shapes or dtypes are wrong, or N is 0.</exception>
    /// <exception cref="ArgumentOutOfRangeException">A label or attribute is out of range.</exception>
    public TensorGroupDataset(Tensor inputs, Tensor labels, GroupScheme scheme, Tensor? attributes = null, Func<Tensor, Tensor>? transform = null)
    {
        Guard.MinDims(inputs, 1, nameof(inputs));
        Guard.Dims(labels, 1, nameof(labels));
        Guard.Integral(labels, nameof(labels));
        ArgumentNullException.ThrowIfNull(scheme);
        if (inputs.shape[0] == 0) throw new ArgumentException("'inputs' has no samples (shape [0, ...]).", nameof(inputs));
        Guard.Length(labels, inputs.shape[0], nameof(labels), nameof(inputs));
        Scheme = scheme;
        _transform = transform;
        _hostLabels = ToHostInts(labels);
        for (int i = 0; i < _hostLabels.Length; i++)
            if ((uint)_hostLabels[i] >= (uint)scheme.NumClasses)
                throw new ArgumentOutOfRangeException(nameof(labels), _hostLabels[i], $"Label at index {i} is {_hostLabels[i]}; expected [0, {scheme.NumClasses - 1}].");

        using var scope = NewDisposeScope();
        var device = inputs.device;
        _inputs = inputs.alias().DetachFromDisposeScope();
        _labels = labels.to(ScalarType.Int64, device).DetachFromDisposeScope();
        if (attributes is not null)
        {
            Guard.Dims(attributes, 1, nameof(attributes));
            Guard.Integral(attributes, nameof(attributes));
            Guard.Length(attributes, inputs.shape[0], nameof(attributes), nameof(inputs));
            var attrs = ToHostInts(attributes);
            _hostGroups = new int[attrs.Length];
            for (int i = 0; i < attrs.Length; i++)
            {
                if ((uint)attrs[i] >= (uint)scheme.NumAttributes)
                    throw new ArgumentOutOfRangeException(nameof(attributes), attrs[i], $"Attribute at index {i} is {attrs[i]}; expected [0, {scheme.NumAttributes - 1}].");
                _hostGroups[i] = _hostLabels[i] * scheme.NumAttributes + attrs[i];
            }
            _groups = torch.tensor(_hostGroups.Select(g => (long)g).ToArray(), ScalarType.Int64, device).DetachFromDisposeScope();
        }
        else
        {
            _hostGroups = [];
        }
    }

    /// <inheritdoc />
    public int Count => _hostLabels.Length;

    /// <inheritdoc />
    public GroupScheme Scheme { get; }

    /// <inheritdoc />
    public ReadOnlyMemory<int> Labels => _hostLabels;

    /// <inheritdoc />
    public bool HasGroups => _groups is not null;

    /// <inheritdoc />
    public ReadOnlyMemory<int> Groups => _hostGroups;

    /// <inheritdoc />
    public Device Device => _inputs.device;

    /// <summary>The stored inputs (an alias owned by the dataset; do not dispose).</summary>
    public Tensor Inputs => _inputs;

    /// <inheritdoc />
    public Batch GetBatch(ReadOnlySpan<long> indices)
    {
        if (indices.Length == 0) throw new ArgumentException("At least one index is needed.", nameof(indices));
        var idx = indices.ToArray();
        for (int i = 0; i < idx.Length; i++)
            if ((ulong)idx[i] >= (ulong)Count)
                throw new ArgumentOutOfRangeException(nameof(indices), idx[i], $"Index at position {i} is {idx[i]}; the dataset has {Count} samples.");
        using var scope = NewDisposeScope();
        var index = torch.tensor(idx, ScalarType.Int64, _inputs.device);
        var x = _inputs.index_select(0, index);
        if (_transform is not null) x = _transform(x);
        var y = _labels.index_select(0, index);
        var g = _groups?.index_select(0, index);
        return new Batch(x, y, g, idx).MoveToOuterDisposeScope();
    }

    /// <summary>A new dataset holding copies of the samples at <paramref name="indices"/> (same scheme and transform).</summary>
    /// <param name="indices">Indices in [0, N), at least one.</param>
    public TensorGroupDataset Subset(ReadOnlySpan<long> indices)
    {
        if (indices.Length == 0) throw new ArgumentException("At least one index is needed.", nameof(indices));
        var idx = indices.ToArray();
        foreach (var i in idx)
            if ((ulong)i >= (ulong)Count)
                throw new ArgumentOutOfRangeException(nameof(indices), i, $"Index {i} is out of range; the dataset has {Count} samples.");
        using var scope = NewDisposeScope();
        var index = torch.tensor(idx, ScalarType.Int64, _inputs.device);
        Tensor? attrs = null;
        if (_groups is not null)
            attrs = torch.tensor(idx.Select(i => (long)(_hostGroups[i] % Scheme.NumAttributes)).ToArray(), ScalarType.Int64, _inputs.device);
        return new TensorGroupDataset(_inputs.index_select(0, index), _labels.index_select(0, index), Scheme, attrs, _transform);
    }

    /// <summary>Moves the dataset's storage to <paramref name="device"/>, returning a new dataset; this one is unchanged.</summary>
    public TensorGroupDataset To(Device device)
    {
        using var scope = NewDisposeScope();
        Tensor? attrs = _groups is null ? null
            : torch.tensor(_hostGroups.Select(g => (long)(g % Scheme.NumAttributes)).ToArray(), ScalarType.Int64, device);
        return new TensorGroupDataset(_inputs.to(device), _labels.to(device), Scheme, attrs, _transform);
    }

    /// <inheritdoc />
    public void Dispose()
    {
        _inputs.Dispose();
        _labels.Dispose();
        _groups?.Dispose();
    }

    private static int[] ToHostInts(Tensor t)
    {
        using var scope = NewDisposeScope();
        return t.to(ScalarType.Int32, CPU).data<int>().ToArray();
    }
}
