using GroupRobust.Groups;
using TorchSharp;
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
    /// <param name="featureLabels">The labels stored with the features (group_DRO's <c>label_id</c>), one per row, or null: when given, each must equal the row's gold_label, as group_DRO asserts.</param>
    public static DatasetSplits Load(string metadataPath, IFeatureSource features, Device? device = null, IReadOnlyList<long>? featureLabels = null)
    {
        ArgumentException.ThrowIfNullOrEmpty(metadataPath);
        ArgumentNullException.ThrowIfNull(features);
        var table = CsvTable.ReadCsv(metadataPath);
        int y = table.Column("gold_label"), neg = table.Column("sentence2_has_negation"), split = table.Column("split");
        if (features.Count != table.Rows.Count)
            throw new ArgumentException($"The feature source has {features.Count} rows but {metadataPath} has {table.Rows.Count}.", nameof(features));
        if (featureLabels is not null && featureLabels.Count != table.Rows.Count)
            throw new ArgumentException($"'featureLabels' has {featureLabels.Count} entries but {metadataPath} has {table.Rows.Count} rows.", nameof(featureLabels));
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
            if (featureLabels is not null && featureLabels[r] != label)
                throw table.Error(r, $"gold_label is {label} but the features' label for this row is {featureLabels[r]}: the features are not in the order of {Path.GetFileName(metadataPath)} (group_DRO checks the same).");
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

    /// <summary>
    /// Loads MultiNLI with its features from a file: a safetensors file as written by
    /// <c>eng/convert-multinli-features.py</c> from group_DRO's cached BERT features (tensors <c>input_ids</c>,
    /// <c>input_mask</c>, <c>segment_ids</c> [N, L], stacked to [N, L, 3] in that order as group_DRO and SubpopBench do,
    /// and <c>label_ids</c> [N], checked against gold_label), a safetensors file with one tensor [N, ...] (for example
    /// precomputed embeddings; <c>label_ids</c> optional), or an <c>.npy</c> array [N, ...].
    /// </summary>
    /// <param name="metadataPath">Path of metadata_random.csv.</param>
    /// <param name="featuresPath">A <c>.safetensors</c> or <c>.npy</c> file whose row r belongs to metadata row r.</param>
    /// <param name="device">Device batches are returned on (the features stay in host memory until gathered).</param>
    /// <exception cref="FormatException">A malformed feature file, a layout other than the ones above, floating features holding NaN or infinity, or a label that differs from gold_label (file and row named).</exception>
    public static DatasetSplits Load(string metadataPath, string featuresPath, Device? device = null)
    {
        ArgumentException.ThrowIfNullOrEmpty(featuresPath);
        Tensor features;
        long[]? labels = null;
        if (featuresPath.EndsWith(".npy", StringComparison.OrdinalIgnoreCase))
        {
            features = Features.NpyFile.Read(featuresPath);
        }
        else
        {
            var all = Features.SafetensorsFile.Read(featuresPath);
            try
            {
                using var scope = torch.NewDisposeScope();   // the int64 conversions are new handles (aliases when already int64)
                if (all.TryGetValue("label_ids", out var l))
                {
                    if (l.dim() != 1) throw new FormatException($"{featuresPath}: label_ids has shape [{string.Join(", ", l.shape)}]; expected [N].");
                    labels = l.to(ScalarType.Int64).data<long>().ToArray();
                }
                string[] bert = ["input_ids", "input_mask", "segment_ids"];
                if (bert.All(all.ContainsKey))
                {
                    var parts = bert.Select(n => all[n]).ToArray();
                    if (parts.Any(p => p.dim() != 2 || !p.shape.SequenceEqual(parts[0].shape)))
                        throw new FormatException($"{featuresPath}: input_ids, input_mask and segment_ids must all be [N, L]; got {string.Join(", ", parts.Select(p => $"[{string.Join(", ", p.shape)}]"))}.");
                    features = torch.stack(parts.Select(p => p.to(ScalarType.Int64)).ToArray(), 2).MoveToOuterDisposeScope();
                }
                else
                {
                    var rest = all.Keys.Where(k => k != "label_ids").ToArray();
                    if (rest.Length != 1)
                        throw new FormatException($"{featuresPath}: expected input_ids, input_mask and segment_ids, or exactly one feature tensor (besides label_ids); found {string.Join(", ", all.Keys.Order())}.");
                    features = all[rest[0]].alias().MoveToOuterDisposeScope();
                }
            }
            finally
            {
                foreach (var t in all.Values) t.Dispose();
            }
        }
        using (features)
        {
            if (features.dim() < 1) throw new FormatException($"{featuresPath}: the features are a scalar; expected [N, ...].");
            if (torch.is_floating_point(features) && features.shape[0] > 0)
            {
                using var scope = torch.NewDisposeScope();
                var bad = features.isfinite().logical_not().reshape(features.shape[0], -1).any(1).nonzero();
                if (bad.shape[0] > 0)
                    throw new FormatException($"{featuresPath}: feature row {bad[0, 0].item<long>()} is not finite (NaN or infinity; {bad.shape[0]} row(s) in all): a failed conversion or export?");
            }
            var source = new TensorFeatureSource(features);
            try
            {
                return Load(metadataPath, source, device, labels) with { Owned = source };
            }
            catch (ArgumentException ex)
            {
                source.Dispose();
                // the file and the metadata disagree (row counts): a data error, named as such
                throw new FormatException($"{featuresPath}: {ex.Message}", ex);
            }
            catch
            {
                source.Dispose();
                throw;
            }
        }
    }
}
