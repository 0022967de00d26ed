using static TorchSharp.torch;

namespace GroupRobust.Data;

/// <summary>
/// A mini-batch: inputs, labels, optional group ids, and the dataset indices they came from.
/// Disposing the batch disposes its tensors (safe to combine with a dispose scope).
/// </summary>
public sealed class Batch : IDisposable
{
    /// <summary>Creates a batch. The batch takes ownership of the tensors.</summary>
    /// <param name="inputs">Inputs, first dimension B.</param>
    /// <param name="labels">Int64 labels [B].</param>
    /// <param name="groups">Int64 group ids [B], or null when the dataset has no group annotations.</param>
    /// <param name="indices">The dataset indices of the B samples.</param>
    /// <exception cref="ArgumentException">The lengths disagree.</exception>
    public Batch(Tensor inputs, Tensor labels, Tensor? groups, long[] indices)
    {
        ArgumentNullException.ThrowIfNull(inputs);
        ArgumentNullException.ThrowIfNull(labels);
        ArgumentNullException.ThrowIfNull(indices);
        if (inputs.shape.Length == 0 || inputs.shape[0] != indices.Length)
            throw new ArgumentException($"'inputs' has shape [{string.Join(", ", inputs.shape)}] but {indices.Length} indices were given.", nameof(inputs));
        if (labels.shape.Length != 1 || labels.shape[0] != indices.Length)
            throw new ArgumentException($"'labels' must have shape [{indices.Length}], got [{string.Join(", ", labels.shape)}].", nameof(labels));
        if (groups is not null && (groups.shape.Length != 1 || groups.shape[0] != indices.Length))
            throw new ArgumentException($"'groups' must have shape [{indices.Length}], got [{string.Join(", ", groups.shape)}].", nameof(groups));
        Inputs = inputs;
        Labels = labels;
        Groups = groups;
        Indices = indices;
    }

    /// <summary>Inputs, first dimension <see cref="Size"/>.</summary>
    public Tensor Inputs { get; }

    /// <summary>Int64 labels, shape [<see cref="Size"/>].</summary>
    public Tensor Labels { get; }

    /// <summary>Int64 group ids, shape [<see cref="Size"/>]; null when the dataset has no group annotations.</summary>
    public Tensor? Groups { get; }

    /// <summary>The dataset indices of the samples (host memory).</summary>
    public long[] Indices { get; }

    /// <summary>Number of samples, B.</summary>
    public int Size => Indices.Length;

    /// <summary>
    /// The dataset (or view) whose <see cref="IGroupDataset.GetBatch"/> made the batch, and whose index space
    /// <see cref="Indices"/> are in; null for batches built by hand. Components made for one dataset (mixers, methods)
    /// check it, so a batch of a subset or another dataset is refused at the door instead of failing later.
    /// </summary>
    internal IGroupDataset? Origin { get; init; }

    /// <summary>A view of this batch without group ids, sharing its inputs and labels (never dispose the view: the tensors are this batch's).</summary>
    internal Batch WithoutGroupIds()
    {
        if (Groups is null) return this;
        return new Batch(Inputs, Labels, null, Indices) { Origin = Origin };
    }

    /// <summary>Moves the batch's tensors out of the current dispose scope to the enclosing one.</summary>
    public Batch MoveToOuterDisposeScope()
    {
        Inputs.MoveToOuterDisposeScope();
        Labels.MoveToOuterDisposeScope();
        Groups?.MoveToOuterDisposeScope();
        return this;
    }

    /// <summary>Detaches the batch's tensors from any dispose scope; the batch then owns them alone.</summary>
    public Batch DetachFromDisposeScope()
    {
        Inputs.DetachFromDisposeScope();
        Labels.DetachFromDisposeScope();
        Groups?.DetachFromDisposeScope();
        return this;
    }

    /// <inheritdoc />
    public void Dispose()
    {
        Inputs.Dispose();
        Labels.Dispose();
        Groups?.Dispose();
    }
}
