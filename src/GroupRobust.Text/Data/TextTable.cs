using System.Text.Json;
using GroupRobust.Data.Loaders;
using GroupRobust.Groups;

namespace GroupRobust.Text.Data;

/// <summary>
/// A text dataset in a plain file: CSV (RFC 4180: quoted fields may hold commas, quotes and line breaks) or JSON Lines
/// (one object per line), one row per text with its text (and second text, for pairs), label, attribute and split
/// (<see cref="TextTableOptions"/> names the columns). Bad rows name the file, the line, the column and the value.
/// </summary>
public static class TextTable
{
    /// <summary>Reads the file into train, validation and test texts; tokenize them with <see cref="TextSplits.Tokenize"/>.</summary>
    /// <param name="path">A .csv file, or a .jsonl / .ndjson file.</param>
    /// <param name="options">The column names and the class and attribute names; the defaults when null.</param>
    /// <exception cref="ArgumentException"><paramref name="options"/> names no column, or one column for two roles.</exception>
    /// <exception cref="FileNotFoundException">No such file.</exception>
    /// <exception cref="FormatException">A missing column, a value that is not what the column holds, a field twice in a JSON row, a label or attribute outside the given names or (without names) beyond <see cref="GroupScheme.MaxGroups"/> groups, or a split without rows (file and line named).</exception>
    public static TextSplits Load(string path, TextTableOptions? options = null)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        options ??= new TextTableOptions();
        string[] columns = [options.TextColumn, options.PairColumn, options.LabelColumn, options.AttributeColumn, options.SplitColumn];
        if (columns.Any(string.IsNullOrEmpty) || columns.Distinct(StringComparer.Ordinal).Count() != columns.Length)
            throw new ArgumentException($"The text, pair, label, attribute and split columns must be five distinct names; got {string.Join(", ", columns.Select(c => c is null ? "null" : $"'{c}'"))}.", nameof(options));
        if (!File.Exists(path)) throw new FileNotFoundException($"{path}: no such text table.", path);
        var rows = path.EndsWith(".jsonl", StringComparison.OrdinalIgnoreCase) || path.EndsWith(".ndjson", StringComparison.OrdinalIgnoreCase)
            ? ReadJsonLines(path, options)
            : ReadCsv(path, options);
        if (rows.Count == 0) throw new FormatException($"{path}: no rows.");
        // without names, the counts are the largest values + 1: one corrupted value must not become millions of groups
        var (yLine, largestLabel) = rows.Select(r => (r.Line, (long)r.Text.Label)).MaxBy(r => r.Item2);
        var (aLine, largestAttribute) = rows.Select(r => (r.Line, (long)r.Text.Attribute)).MaxBy(r => r.Item2);
        long classCount = options.ClassNames?.Count ?? largestLabel + 1, attributeCount = options.AttributeNames?.Count ?? largestAttribute + 1;
        if (classCount * attributeCount > GroupScheme.MaxGroups)
        {
            bool byLabel = options.ClassNames is null && (options.AttributeNames is not null || classCount >= attributeCount);
            throw new FormatException(byLabel
                ? $"{path}, line {yLine}: {options.LabelColumn} is {largestLabel}: the scheme would have {classCount} x {attributeCount} groups, more than {GroupScheme.MaxGroups} (a corrupted label? give ClassNames)."
                : $"{path}, line {aLine}: {options.AttributeColumn} is {largestAttribute}: the scheme would have {classCount} x {attributeCount} groups, more than {GroupScheme.MaxGroups} (a corrupted attribute? give AttributeNames).");
        }
        int classes = (int)classCount, attributes = (int)attributeCount;
        foreach (var (line, _, t) in rows)
        {
            if (t.Label >= classes) throw new FormatException($"{path}, line {line}: {options.LabelColumn} is {t.Label}; the {classes} class names given cover 0..{classes - 1}.");
            if (t.Attribute >= attributes) throw new FormatException($"{path}, line {line}: {options.AttributeColumn} is {t.Attribute}; the {attributes} attribute names given cover 0..{attributes - 1}.");
        }
        if (classes < 2) throw new FormatException($"{path}: every row has label 0; a classification dataset needs at least two classes.");
        var scheme = new GroupScheme(classes, attributes, options.ClassNames?.ToArray(), options.AttributeNames?.ToArray());
        string[] names = ["train", "validation", "test"];
        var splits = new List<LabeledText>[3];
        for (int s = 0; s < 3; s++)
        {
            splits[s] = rows.Where(r => r.Split == s).Select(r => r.Text).ToList();
            if (splits[s].Count == 0) throw new FormatException($"{path}: the {names[s]} split has no rows ({options.SplitColumn} = \"{names[s]}\" or {s}).");
        }
        return new TextSplits(scheme, splits[0], splits[1], splits[2]);
    }

    private static int Split(string value, Func<string, FormatException> error) => value.Trim().ToLowerInvariant() switch
    {
        "train" or "0" => 0,
        "validation" or "val" or "valid" or "dev" or "1" => 1,
        "test" or "2" => 2,
        _ => throw error($"split \"{value}\" is unknown; expected train, validation (val, valid, dev) or test, or 0, 1, 2."),
    };

    private static List<(int Line, int Split, LabeledText Text)> ReadCsv(string path, TextTableOptions o)
    {
        var table = CsvTable.ReadCsv(path);
        int text = table.Column(o.TextColumn), label = table.Column(o.LabelColumn), attribute = table.Column(o.AttributeColumn), split = table.Column(o.SplitColumn);
        int pair = table.HasColumn(o.PairColumn) ? table.Column(o.PairColumn) : -1;
        var rows = new List<(int, int, LabeledText)>(table.Rows.Count);
        for (int r = 0; r < table.Rows.Count; r++)
        {
            int y = table.Int(r, label), a = table.Int(r, attribute);
            if (y < 0) throw table.Error(r, $"{o.LabelColumn} is {y}; labels are 0 or more.");
            if (a < 0) throw table.Error(r, $"{o.AttributeColumn} is {a}; attributes are 0 or more.");
            int row = r;
            rows.Add((table.LineOf(r), Split(table.Text(r, split), p => table.Error(row, p)),
                new LabeledText(table.Text(r, text), y, a, pair < 0 ? null : table.Text(r, pair))));
        }
        return rows;
    }

    private static List<(int Line, int Split, LabeledText Text)> ReadJsonLines(string path, TextTableOptions o)
    {
        var rows = new List<(int, int, LabeledText)>();
        bool? pairs = null;
        int line = 0;
        foreach (var raw in File.ReadLines(path))
        {
            line++;
            if (raw.Trim().Length == 0) continue;
            FormatException Error(string problem) => new($"{path}, line {line}: {problem}");
            JsonElement row;
            try
            {
                using var doc = JsonDocument.Parse(raw);
                row = doc.RootElement.Clone();
            }
            catch (JsonException ex)
            {
                throw Error($"not a JSON object ({ex.Message}).");
            }
            if (row.ValueKind != JsonValueKind.Object) throw Error($"a {row.ValueKind}, not a JSON object.");
            var fields = new HashSet<string>(StringComparer.Ordinal);
            foreach (var property in row.EnumerateObject())
                if (!fields.Add(property.Name)) throw Error($"the field \"{property.Name}\" appears twice; which value is meant is ambiguous.");
            JsonElement Field(string name) => row.TryGetProperty(name, out var v) ? v : throw Error($"no \"{name}\" field.");
            string Text(string name) => Field(name) is { ValueKind: JsonValueKind.String } v ? v.GetString()! : throw Error($"\"{name}\" is {Field(name).GetRawText()}; expected a string.");
            int Int(string name)
            {
                var v = Field(name);
                if (v.ValueKind != JsonValueKind.Number || !v.TryGetInt32(out int i) || i < 0)
                    throw Error($"\"{name}\" is {v.GetRawText()}; expected an integer of 0 or more.");
                return i;
            }
            bool hasPair = row.TryGetProperty(o.PairColumn, out _);
            pairs ??= hasPair;
            if (hasPair != pairs) throw Error(pairs.Value ? $"no \"{o.PairColumn}\" field, but earlier rows have one." : $"a \"{o.PairColumn}\" field, but earlier rows have none.");
            var split = Field(o.SplitColumn);
            string splitText = split.ValueKind == JsonValueKind.Number ? split.GetRawText() : split.ValueKind == JsonValueKind.String ? split.GetString()! : throw Error($"\"{o.SplitColumn}\" is {split.GetRawText()}; expected a name or 0, 1, 2.");
            rows.Add((line, Split(splitText, Error), new LabeledText(Text(o.TextColumn), Int(o.LabelColumn), Int(o.AttributeColumn), hasPair ? Text(o.PairColumn) : null)));
        }
        return rows;
    }
}
