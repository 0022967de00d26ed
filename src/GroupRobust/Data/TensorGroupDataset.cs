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
public sealed class TensorGroupDataset : GroupDatasetBase
{
    private readonly Tensor _inputs;
    private readonly Func<Tensor, Tensor>? _transform;

    /// <summary>Creates a dataset. The dataset keeps its own alias of the inputs; the caller's tensors are never disposed by it.</summary>
    /// <param name="inputs">Inputs [N, ...] on the device batches should come back on.</param>
    /// <param name="labels">Integer labels [N] in [0, C).</param>
    /// <param name="scheme">The group structure; its class count bounds the labels.</param>
    /// <param name="attributes">Optional integer attribute values [N] in [0, A); with them every sample gets the group y * A + a.</param>
    /// <param name="transform">Optional per-batch transform applied to gathered inputs (for example uint8 to float scaling).</param>
    /// <exception cref="ArgumentException">Shapes or dtypes are wrong, or N is 0.</exception>
    /// <exception cref="ArgumentOutOfRangeException">A label or attribute is out of range.</exception>
    public TensorGroupDataset(Tensor inputs, Tensor labels, GroupScheme scheme, Tensor? attributes = null, Func<Tensor, Tensor>? transform = null)
        : base(scheme, HostInts(labels, inputs, nameof(labels)), attributes is null ? null : HostInts(attributes, inputs, nameof(attributes)), inputs.device)
    {
        _transform = transform;
        _inputs = inputs.alias().DetachFromDisposeScope();
    }

    /// <summary>The stored inputs (an alias owned by the dataset; do not dispose).</summary>
    public Tensor Inputs => _inputs;

    /// <inheritdoc />
    protected override Tensor GatherInputs(long[] indices)
    {
        var x = _inputs.index_select(0, HostUpload.Int64(indices, _inputs.device));
        return _transform is null ? x : _transform(x);
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
        return new TensorGroupDataset(_inputs.index_select(0, index), LabelTensor(idx, _inputs.device), Scheme, AttributeTensor(idx, _inputs.device), _transform);
    }

    /// <summary>Moves the dataset's storage to <paramref name="device"/>, returning a new dataset; this one is unchanged.</summary>
    public TensorGroupDataset To(Device device)
    {
        using var scope = NewDisposeScope();
        var all = Enumerable.Range(0, Count).Select(i => (long)i).ToArray();
        return new TensorGroupDataset(_inputs.to(device), LabelTensor(all, device), Scheme, AttributeTensor(all, device), _transform);
    }

    /// <inheritdoc />
    protected override void Dispose(bool disposing)
    {
        if (disposing) _inputs.Dispose();
        base.Dispose(disposing);
    }

    private Tensor LabelTensor(long[] idx, Device device)
        => torch.tensor(idx.Select(i => (long)Labels.Span[(int)i]).ToArray(), ScalarType.Int64, device);

    private Tensor? AttributeTensor(long[] idx, Device device)
        => HasGroups ? torch.tensor(idx.Select(i => (long)(Groups.Span[(int)i] % Scheme.NumAttributes)).ToArray(), ScalarType.Int64, device) : null;

    private static int[] HostInts(Tensor t, Tensor inputs, string name)
    {
        Guard.MinDims(inputs, 1, nameof(inputs));
        Guard.Dims(t, 1, name);
        Guard.Integral(t, name);
        if (inputs.shape[0] == 0) throw new ArgumentException("'inputs' has no samples (shape [0, ...]).", nameof(inputs));
        Guard.Length(t, inputs.shape[0], name, nameof(inputs));
        using var scope = NewDisposeScope();
        var values = t.to(ScalarType.Int64, CPU).data<long>().ToArray();
        var ints = new int[values.Length];
        for (int i = 0; i < values.Length; i++)
        {
            // range-check in 64 bits: a value such as 2^32 must not wrap to a valid label
            if (values[i] < int.MinValue || values[i] > int.MaxValue)
                throw new ArgumentOutOfRangeException(name, values[i], $"Value at index {i} is {values[i]}, outside the 32-bit range of labels and attributes.");
            ints[i] = (int)values[i];
        }
        return ints;
    }
}
