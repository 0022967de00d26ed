using GroupRobust.Groups;
using static TorchSharp.torch;

namespace GroupRobust.Data;

/// <summary>
/// A view of some samples of a dataset, re-indexed 0..M-1 (for example AFR's 80% / 20% split of the training set). The
/// view does not own the dataset: disposing it leaves the dataset alone. Batches carry the view's indices.
/// </summary>
public sealed class SubsetView : IGroupDataset, IEpochAware
{
    private readonly IGroupDataset _inner;
    private readonly long[] _rows;
    private readonly int[] _labels;
    private readonly int[] _groups;

    /// <summary>Creates the view.</summary>
    /// <param name="dataset">The dataset (not owned).</param>
    /// <param name="rows">The dataset indices the view exposes, in order; at least one, each in range (repeats allowed).</param>
    /// <exception cref="ArgumentException"><paramref name="rows"/> is empty.</exception>
    /// <exception cref="ArgumentOutOfRangeException">A row is out of range.</exception>
    public SubsetView(IGroupDataset dataset, ReadOnlySpan<long> rows)
    {
        ArgumentNullException.ThrowIfNull(dataset);
        if (rows.Length == 0) throw new ArgumentException("A subset needs at least one row.", nameof(rows));
        for (int i = 0; i < rows.Length; i++)
            if ((ulong)rows[i] >= (ulong)dataset.Count)
                throw new ArgumentOutOfRangeException(nameof(rows), rows[i], $"Row {i} is {rows[i]}; the dataset has {dataset.Count} samples.");
        _inner = dataset;
        _rows = rows.ToArray();
        var labels = dataset.Labels;
        _labels = _rows.Select(r => labels.Span[(int)r]).ToArray();
        var groups = dataset.Groups;
        _groups = dataset.HasGroups ? _rows.Select(r => groups.Span[(int)r]).ToArray() : [];
    }

    /// <summary>The dataset indices of the view's samples.</summary>
    public IReadOnlyList<long> Rows => _rows;

    /// <inheritdoc />
    public int Count => _rows.Length;

    /// <inheritdoc />
    public GroupScheme Scheme => _inner.Scheme;

    /// <inheritdoc />
    public ReadOnlyMemory<int> Labels => _labels;

    /// <inheritdoc />
    public bool HasGroups => _inner.HasGroups;

    /// <inheritdoc />
    public ReadOnlyMemory<int> Groups => _groups;

    /// <inheritdoc />
    public Device Device => _inner.Device;

    /// <inheritdoc />
    public Batch GetBatch(ReadOnlySpan<long> indices)
    {
        if (indices.Length == 0) throw new ArgumentException("At least one index is needed.", nameof(indices));
        var mapped = new long[indices.Length];
        for (int i = 0; i < mapped.Length; i++)
        {
            if ((ulong)indices[i] >= (ulong)_rows.Length)
                throw new ArgumentOutOfRangeException(nameof(indices), indices[i], $"Index {indices[i]} is out of range; the subset has {_rows.Length} samples.");
            mapped[i] = _rows[indices[i]];
        }
        var batch = _inner.GetBatch(mapped);
        return new Batch(batch.Inputs, batch.Labels, batch.Groups, indices.ToArray()) { Origin = this };
    }

    /// <summary>Does nothing: the view owns no storage.</summary>
    public void Dispose()
    {
    }

    /// <summary>Passes the epoch on to the underlying dataset when it is epoch-aware (train-time augmentation).</summary>
    public void SetEpoch(int epoch) => (_inner as IEpochAware)?.SetEpoch(epoch);
}
