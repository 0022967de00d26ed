using GroupRobust.Groups;
using TorchSharp;
using static TorchSharp.torch;

namespace GroupRobust.Data.Loaders;

/// <summary>A dataset whose inputs come from an <see cref="IFeatureSource"/> by row id (the rows of one split of a metadata file).</summary>
public sealed class FeatureDataset : GroupDatasetBase
{
    private readonly IFeatureSource _source;
    private readonly long[] _rows;

    /// <summary>Creates the dataset.</summary>
    /// <param name="source">Feature source indexed by metadata row.</param>
    /// <param name="rows">The source rows of this dataset's samples.</param>
    /// <param name="labels">Labels per sample.</param>
    /// <param name="attributes">Attributes per sample, or null.</param>
    /// <param name="scheme">The group structure.</param>
    /// <param name="device">Device batches are returned on (CPU by default).</param>
    public FeatureDataset(IFeatureSource source, IReadOnlyList<long> rows, IReadOnlyList<int> labels, IReadOnlyList<int>? attributes, GroupScheme scheme, Device? device = null)
        : base(scheme, labels, attributes, device ?? CPU)
    {
        ArgumentNullException.ThrowIfNull(source);
        ArgumentNullException.ThrowIfNull(rows);
        if (rows.Count != labels.Count) throw new ArgumentException($"{rows.Count} rows for {labels.Count} labels.", nameof(rows));
        foreach (var r in rows)
            if ((ulong)r >= (ulong)source.Count)
                throw new ArgumentOutOfRangeException(nameof(rows), r, $"Row {r} is outside the feature source ({source.Count} rows).");
        _source = source;
        _rows = rows.ToArray();
    }

    /// <summary>The feature-source row of sample <paramref name="index"/>.</summary>
    public long SourceRow(int index) => _rows[index];

    /// <inheritdoc />
    protected override Tensor GatherInputs(long[] indices) => _source.Get(indices.Select(i => _rows[i]).ToArray(), Device);
}
