using TorchSharp;
using static TorchSharp.torch;

namespace GroupRobust.Data.Loaders;

/// <summary>An in-memory <see cref="IFeatureSource"/> over one tensor [N, ...] (gathered with index_select). Owns an alias of the tensor.</summary>
public sealed class TensorFeatureSource : IFeatureSource, IDisposable
{
    private readonly Tensor _features;

    /// <summary>Wraps <paramref name="features"/> (the caller's tensor is not disposed by this object).</summary>
    public TensorFeatureSource(Tensor features)
    {
        ArgumentNullException.ThrowIfNull(features);
        if (features.dim() < 1 || features.shape[0] == 0) throw new ArgumentException("Features need shape [N, ...] with N >= 1.", nameof(features));
        _features = features.alias().DetachFromDisposeScope();
    }

    /// <inheritdoc />
    public int Count => (int)_features.shape[0];

    /// <inheritdoc />
    public Tensor Get(ReadOnlySpan<long> rows, Device device)
    {
        using var scope = NewDisposeScope();
        var idx = torch.tensor(rows.ToArray(), ScalarType.Int64, _features.device);
        return _features.index_select(0, idx).to(device).MoveToOuterDisposeScope();
    }

    /// <inheritdoc />
    public void Dispose() => _features.Dispose();
}
