using GroupRobust.Groups;
using static TorchSharp.torch;

namespace GroupRobust.Data;

/// <summary>
/// A labelled dataset with optional group annotations and fast batch access by index: the one data
/// abstraction every GroupRobust component works with.
/// </summary>
/// <remarks>
/// Labels and group ids are kept on the host (they drive samplers, partitions and partner sampling without
/// touching the device); inputs stay wherever the implementation stores them and batches come back on
/// <see cref="Device"/>. Disposing a dataset frees the storage it owns (its input tensors); a dataset that only reads
/// from a source it does not own leaves that source alone.
/// </remarks>
public interface IGroupDataset : IDisposable
{
    /// <summary>Number of samples, N.</summary>
    int Count { get; }

    /// <summary>The task's group structure (classes, attribute values, names).</summary>
    GroupScheme Scheme { get; }

    /// <summary>Labels in [0, <see cref="GroupScheme.NumClasses"/>), one per sample.</summary>
    ReadOnlyMemory<int> Labels { get; }

    /// <summary>True when every sample has a group id (the attribute is annotated).</summary>
    bool HasGroups { get; }

    /// <summary>Group ids <c>y * A + a</c>, one per sample; empty when <see cref="HasGroups"/> is false.</summary>
    ReadOnlyMemory<int> Groups { get; }

    /// <summary>The device batches are returned on.</summary>
    Device Device { get; }

    /// <summary>
    /// The samples at <paramref name="indices"/>, in that order. The batch's tensors belong to the caller's current
    /// dispose scope (or to the batch, when there is none); the dataset's own storage is never returned.
    /// </summary>
    /// <param name="indices">Sample indices in [0, <see cref="Count"/>); repeats allowed; at least one.</param>
    /// <exception cref="ArgumentOutOfRangeException">An index is out of range.</exception>
    /// <exception cref="ArgumentException"><paramref name="indices"/> is empty.</exception>
    Batch GetBatch(ReadOnlySpan<long> indices);
}
