using GroupRobust.Data;
using GroupRobust.Data.Loaders;
using GroupRobust.Text.Tokenization;
using static TorchSharp.torch;

namespace GroupRobust.Text.Data;

/// <summary>
/// MultiNLI from its texts, in group_DRO's layout (Sagawa et al., 2020): <c>metadata_random.csv</c> (gold_label,
/// sentence2_has_negation, split; <see cref="MultiNliLoader"/>) and GLUE's MNLI files <c>train.tsv</c>,
/// <c>dev_matched.tsv</c> and <c>dev_mismatched.tsv</c>, whose rows in that order are the metadata's rows (the order of
/// group_DRO's cached BERT features). Each premise and hypothesis pair is tokenized as group_DRO's features were
/// ([CLS] premise [SEP] hypothesis [SEP], longest-first truncation, padded to the maximum length), and each TSV label is
/// checked against the metadata's gold_label. Groups: 3 labels x negation in the hypothesis.
/// </summary>
public static class MultiNliTexts
{
    /// <summary>GLUE's MNLI files, in the order of group_DRO's metadata.</summary>
    public static IReadOnlyList<string> GlueFiles { get; } = ["train.tsv", "dev_matched.tsv", "dev_mismatched.tsv"];

    private static readonly string[] Labels = ["contradiction", "entailment", "neutral"];

    /// <summary>Tokenizes the texts and loads the splits of the metadata.</summary>
    /// <param name="metadataPath">group_DRO's metadata_random.csv.</param>
    /// <param name="glueDirectory">The folder of GLUE's MNLI files (group_DRO's <c>glue_data/MNLI</c>).</param>
    /// <param name="tokenizer">BERT's tokenizer (bert-base-uncased's vocab.txt for the paper's model).</param>
    /// <param name="maxLength">Tokens per pair, special ones included (default 128, group_DRO's).</param>
    /// <param name="device">Where batches go (default the CPU).</param>
    /// <returns>The splits [N, maxLength, 3] (ids, mask, token types); the caller disposes them.</returns>
    /// <exception cref="FileNotFoundException">A file is missing.</exception>
    /// <exception cref="FormatException">A TSV row without the columns, an unknown label, a label that differs from gold_label, or files whose rows do not add up to the metadata's (file and line named).</exception>
    public static DatasetSplits Load(string metadataPath, string glueDirectory, WordPieceTokenizer tokenizer, int maxLength = 128, Device? device = null)
    {
        ArgumentException.ThrowIfNullOrEmpty(metadataPath);
        ArgumentException.ThrowIfNullOrEmpty(glueDirectory);
        ArgumentNullException.ThrowIfNull(tokenizer);
        ArgumentOutOfRangeException.ThrowIfLessThan(maxLength, 5);
        var rows = GlueFiles.SelectMany(f => ReadGlue(Path.Combine(glueDirectory, f))).ToList();
        using var tokens = tokenizer.Encode(rows.Select(r => r.Premise).ToList(), rows.Select(r => r.Hypothesis).ToList(), maxLength, padToMaxLength: true);
        var source = new TensorFeatureSource(tokens);
        try
        {
            return MultiNliLoader.Load(metadataPath, source, device, rows.Select(r => (long)r.Label).ToList()) with { Owned = source };
        }
        catch (ArgumentException ex)
        {
            source.Dispose();
            throw new FormatException($"{glueDirectory}: {ex.Message} ({string.Join(", ", GlueFiles)} in order are the metadata's rows).", ex);
        }
        catch
        {
            source.Dispose();
            throw;
        }
    }

    /// <summary>The premise, hypothesis and label (0 contradiction, 1 entailment, 2 neutral) of each row of a GLUE MNLI file (tab-separated, no quoting, a header naming sentence1, sentence2 and gold_label).</summary>
    /// <param name="path">train.tsv, dev_matched.tsv or dev_mismatched.tsv.</param>
    /// <exception cref="FileNotFoundException">No such file.</exception>
    /// <exception cref="FormatException">A missing or repeated column, a short row or an unknown label (file and line named).</exception>
    public static IReadOnlyList<(string Premise, string Hypothesis, int Label)> ReadGlue(string path)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        if (!File.Exists(path)) throw new FileNotFoundException($"{path}: no such GLUE MNLI file.", path);
        var result = new List<(string, string, int)>();
        int line = 0;
        int premise = -1, hypothesis = -1, label = -1, columns = 0;
        foreach (var text in File.ReadLines(path))
        {
            line++;
            var fields = text.Split('\t');
            if (line == 1)
            {
                int Column(string name)
                {
                    int i = Array.IndexOf(fields, name);
                    if (i < 0) throw new FormatException($"{path}, line 1: no column '{name}' (columns: {string.Join(", ", fields)}).");
                    int again = Array.IndexOf(fields, name, i + 1);
                    if (again >= 0) throw new FormatException($"{path}, line 1: the column '{name}' appears twice (columns {i + 1} and {again + 1}); which one holds it is ambiguous.");
                    return i;
                }
                (premise, hypothesis, label, columns) = (Column("sentence1"), Column("sentence2"), Column("gold_label"), fields.Length);
                continue;
            }
            if (text.Length == 0) continue;
            if (fields.Length < columns)
                throw new FormatException($"{path}, line {line}: {fields.Length} fields, the header has {columns} (a tab inside a text?).");
            int y = Array.IndexOf(Labels, fields[label]);
            if (y < 0) throw new FormatException($"{path}, line {line}: gold_label is \"{fields[label]}\"; expected contradiction, entailment or neutral.");
            result.Add((fields[premise], fields[hypothesis], y));
        }
        if (line == 0) throw new FormatException($"{path}: the file is empty; a header line is expected.");
        return result;
    }
}
