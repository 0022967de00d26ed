using GroupRobust.Groups;
using static TorchSharp.torch;

namespace GroupRobust.Data.Loaders;

/// <summary>
/// Loads MultiNLI's group metadata (Sagawa et al., 2020): <c>metadata_random.csv</c> with an unnamed index column,
/// <c>gold_label</c> (0 contradiction, 1 entailment, 2 neutral), <c>sentence2_has_negation</c> (0/1: the hypothesis
/// contains nobody, no, never or nothing) and <c>split</c> (0/1/2). Groups: g = 2 label + negation (6 groups).
/// Input features (e.g. BERT token ids) come from a pluggable <see cref="IFeatureSource"/> indexed by metadata row.
/// </summary>
public static class MultiNliLoader
{
    /// <summary>The MultiNLI scheme: 3 labels by negation.</summary>
    public static GroupScheme Scheme { get; } = new(3, 2, ["contradiction", "entailment", "neutral"], ["no negation", "negation"]);

    /// <summary>Loads the three splits.</summary>
    /// <param name="metadataPath">Path of metadata_random.csv.</param>
    /// <param name="features">Features by metadata row (row r of the file = feature row r).</param>
    /// <param name="device">Device batches are returned on.</param>
    /// <exception cref="FormatException">Missing columns, unknown split codes, labels out of range, or a row id (the leading index column) listed twice (file and line named).</exception>
    public static DatasetSplits Load(string metadataPath, IFeatureSource features, Device? device = null)
    {
        ArgumentException.ThrowIfNullOrEmpty(metadataPath);
        ArgumentNullException.ThrowIfNull(features);
        var table = CsvTable.ReadCsv(metadataPath);
        int y = table.Column("gold_label"), neg = table.Column("sentence2_has_negation"), split = table.Column("split");
        if (features.Count != table.Rows.Count)
            throw new ArgumentException($"The feature source has {features.Count} rows but {metadataPath} has {table.Rows.Count}.", nameof(features));
        // group_DRO's metadata_random.csv starts with an unnamed index column: a row id listed twice (for example in two
        // splits) would put one example in both training and test, so ids must be unique
        int? idColumn = table.Header.Count > 0 && table.Header[0] is "" or "Unnamed: 0" or "id" or "index" ? 0 : null;
        if (idColumn is int ic)
        {
            var seen = new Dictionary<string, int>(StringComparer.Ordinal);
            for (int r = 0; r < table.Rows.Count; r++)
                if (!seen.TryAdd(table.Text(r, ic), r))
                    throw table.Error(r, $"row id '{table.Text(r, ic)}' appears twice (also on line {table.LineOf(seen[table.Text(r, ic)])}): one example would be in two splits or counted twice.");
        }
        var rows = new[] { new List<long>(), new List<long>(), new List<long>() };
        var labels = new[] { new List<int>(), new List<int>(), new List<int>() };
        var attrs = new[] { new List<int>(), new List<int>(), new List<int>() };
        for (int r = 0; r < table.Rows.Count; r++)
        {
            int label = table.Int(r, y), a = table.Int(r, neg), s = table.Int(r, split);
            if (label is < 0 or > 2) throw table.Error(r, $"gold_label is {label}; expected 0 (contradiction), 1 (entailment) or 2 (neutral).");
            if (a is not (0 or 1)) throw table.Error(r, $"sentence2_has_negation is {a}; expected 0 or 1.");
            if (s is < 0 or > 2) throw table.Error(r, $"split code {s} is unknown; expected 0 (train), 1 (validation) or 2 (test).");
            rows[s].Add(r);
            labels[s].Add(label);
            attrs[s].Add(a);
        }
        string[] names = ["train", "validation", "test"];
        for (int s = 0; s < 3; s++)
            if (rows[s].Count == 0) throw new FormatException($"{metadataPath}: the {names[s]} split (code {s}) has no rows.");
        FeatureDataset Make(int s) => new(features, rows[s], labels[s], attrs[s], Scheme, device);
        return new DatasetSplits(Make(0), Make(1), Make(2));
    }
}
