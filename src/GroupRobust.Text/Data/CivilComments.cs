using System.Globalization;
using GroupRobust.Data.Loaders;
using GroupRobust.Groups;

namespace GroupRobust.Text.Data;

/// <summary>
/// CivilComments in the WILDS layout (Koh et al., 2021): <c>all_data_with_identities.csv</c> with a comment per row,
/// its split (train, val, test), its toxicity and the identity columns. The label is toxic (toxicity at least 0.5), as
/// WILDS and SubpopBench define it; the attribute comes from the eight identity columns WILDS and SubpopBench group by
/// (male, female, LGBTQ, christian, muslim, other_religions, black, white), each mentioned when at least 0.5, by
/// <see cref="CivilCommentsGranularity"/>.
/// </summary>
public static class CivilComments
{
    /// <summary>The identity columns, in WILDS's and SubpopBench's order (the attribute values of <see cref="CivilCommentsGranularity.Fine"/>).</summary>
    public static IReadOnlyList<string> Identities { get; } = ["male", "female", "LGBTQ", "christian", "muslim", "other_religions", "black", "white"];

    /// <summary>Reads the file into train, validation and test texts (tokenize them with <see cref="TextSplits.Tokenize"/>).</summary>
    /// <param name="path">all_data_with_identities.csv.</param>
    /// <param name="granularity">The groups (default <see cref="CivilCommentsGranularity.Coarse"/>).</param>
    /// <exception cref="FileNotFoundException">No such file.</exception>
    /// <exception cref="FormatException">A missing column, a score that is not a number in [0, 1], an unknown split, or a split without rows (file and line named).</exception>
    public static TextSplits Load(string path, CivilCommentsGranularity granularity = CivilCommentsGranularity.Coarse)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        if (!Enum.IsDefined(granularity)) throw new ArgumentOutOfRangeException(nameof(granularity), granularity, "Expected Coarse or Fine.");
        if (!File.Exists(path)) throw new FileNotFoundException($"{path}: no such file; CivilComments comes as WILDS's all_data_with_identities.csv.", path);
        var table = CsvTable.ReadCsv(path);
        int text = table.Column("comment_text"), split = table.Column("split"), toxicity = table.Column("toxicity");
        var identity = Identities.Select(table.Column).ToArray();
        var splits = new[] { new List<LabeledText>(), new List<LabeledText>(), new List<LabeledText>() };
        for (int r = 0; r < table.Rows.Count; r++)
        {
            int s = table.Text(r, split) switch
            {
                "train" => 0,
                "val" => 1,
                "test" => 2,
                var other => throw table.Error(r, $"split is \"{other}\"; WILDS's splits are train, val and test."),
            };
            int label = Number(table, r, toxicity, "toxicity") >= 0.5 ? 1 : 0;
            var mentioned = identity.Select((c, i) => (Index: i, On: Number(table, r, c, Identities[i]) >= 0.5)).Where(x => x.On).Select(x => x.Index).ToList();
            string comment = table.Text(r, text);
            if (granularity == CivilCommentsGranularity.Coarse) splits[s].Add(new LabeledText(comment, label, mentioned.Count > 0 ? 1 : 0));
            else
                foreach (int i in mentioned) splits[s].Add(new LabeledText(comment, label, i));
        }
        string[] names = ["train", "val", "test"];
        for (int s = 0; s < 3; s++)
            if (splits[s].Count == 0) throw new FormatException($"{path}: the {names[s]} split has no rows{(granularity == CivilCommentsGranularity.Fine ? " that mention an identity" : "")}.");
        var scheme = granularity == CivilCommentsGranularity.Coarse
            ? new GroupScheme(2, 2, ["non-toxic", "toxic"], ["no identity", "identity"])
            : new GroupScheme(2, Identities.Count, ["non-toxic", "toxic"], Identities.ToArray());
        return new TextSplits(scheme, splits[0], splits[1], splits[2]);
    }

    /// <summary>A score column: a number in [0, 1] (a fraction of raters), or empty (pandas reads NaN, which is below 0.5 in WILDS's and SubpopBench's comparisons).</summary>
    private static double Number(CsvTable table, int row, int column, string name)
    {
        string value = table.Text(row, column);
        if (value.Length == 0 || value.Equals("nan", StringComparison.OrdinalIgnoreCase)) return 0;
        if (!double.TryParse(value, NumberStyles.Float, CultureInfo.InvariantCulture, out double x) || !(x >= 0 && x <= 1))
            throw table.Error(row, $"{name} is \"{value}\"; expected a number in [0, 1].");
        return x;
    }
}
