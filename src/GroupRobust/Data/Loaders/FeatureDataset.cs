using GroupRobust.Groups;
using TorchSharp;
using static TorchSharp.torch;

namespace GroupRobust.Data.Loaders;

/// <summary>A dataset whose inputs come from an <see cref="IFeatureSource"/> by row id (the rows of one split of a metadata file).</summary>
public sealed class FeatureDataset : IGroupDataset
{
    private readonly IFeatureSource _source;
    private readonly long[] _rows;
    private readonly int[] _labels;
    private readonly int[] _groups;

    /// <summary>Creates the dataset.</summary>
    /// <param name="source">Feature source indexed by metadata row.</param>
    /// <param name="rows">The source rows of this dataset's samples.</param>
    /// <param name="labels">Labels per sample.</param>
    /// <param name="attributes">Attributes per sample, or null.</param>
    /// <param name="scheme">The group structure.</param>
    /// <param name="device">Device batches are returned on (CPU by default).</param>
    public FeatureDataset(IFeatureSource source, IReadOnlyList<long> rows, IReadOnlyList<int> labels, IReadOnlyList<int>? attributes, GroupScheme scheme, Device? device = null)
    {
        ArgumentNullException.ThrowIfNull(source);
        ArgumentNullException.ThrowIfNull(rows);
        ArgumentNullException.ThrowIfNull(labels);
        ArgumentNullException.ThrowIfNull(scheme);
        if (rows.Count == 0) throw new ArgumentException("The dataset has no samples.", nameof(rows));
        if (labels.Count != rows.Count || (attributes is not null && attributes.Count != rows.Count))
            throw new ArgumentException("rows, labels and attributes must have the same length.", nameof(labels));
        foreach (var r in rows)
            if ((ulong)r >= (ulong)source.Count)
                throw new ArgumentOutOfRangeException(nameof(rows), r, $"Row {r} is outside the feature source ({source.Count} rows).");
        _source = source;
        _rows = rows.ToArray();
        _labels = labels.ToArray();
        foreach (var y in _labels) scheme.CheckLabel(y, nameof(labels));
        _groups = attributes is null ? [] : _labels.Select((y, i) => scheme.GroupOf(y, attributes[i])).ToArray();
        Scheme = scheme;
        Device = device ?? CPU;
    }

    /// <inheritdoc />
    public int Count => _rows.Length;

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

    /// <summary>The feature-source row of sample <paramref name="index"/>.</summary>
    public long SourceRow(int index) => _rows[index];

    /// <inheritdoc />
    public Batch GetBatch(ReadOnlySpan<long> indices)
    {
        if (indices.Length == 0) throw new ArgumentException("At least one index is needed.", nameof(indices));
        var idx = indices.ToArray();
        var rows = new long[idx.Length];
        for (int i = 0; i < idx.Length; i++)
        {
            if ((ulong)idx[i] >= (ulong)Count)
                throw new ArgumentOutOfRangeException(nameof(indices), idx[i], $"Index at position {i} is {idx[i]}; the dataset has {Count} samples.");
            rows[i] = _rows[idx[i]];
        }
        using var scope = NewDisposeScope();
        var x = _source.Get(rows, Device);
        var y = torch.tensor(idx.Select(i => (long)_labels[i]).ToArray(), ScalarType.Int64, Device);
        var g = HasGroups ? torch.tensor(idx.Select(i => (long)_groups[i]).ToArray(), ScalarType.Int64, Device) : null;
        return new Batch(x, y, g, idx).MoveToOuterDisposeScope();
    }
}
