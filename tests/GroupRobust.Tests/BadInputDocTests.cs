using GroupRobust.Tests.TestSupport;
using System.Reflection;
using System.Text.RegularExpressions;

namespace GroupRobust.Tests;

/// <summary>
/// Keeps docs/bad-input.md true: every row of its tables names the tests that prove it (a case of
/// <see cref="BadInputTests"/> as <c>`"case"`</c>, or a test method as <c>`Class.Method`</c>), every named test exists,
/// and every case of <see cref="BadInputTests"/> is named by some row.
/// </summary>
public partial class BadInputDocTests
{
    [GeneratedRegex("`([^`]+)`")]
    private static partial Regex Reference();

    private static string DocPath() => Path.Combine(RepositoryPaths.Root, "docs", "bad-input.md");

    /// <summary>The data rows of every table: (line number, cells).</summary>
    internal static List<(int Line, string[] Cells)> Rows(string[] lines)
    {
        var rows = new List<(int, string[])>();
        bool inTable = false;
        for (int i = 0; i < lines.Length; i++)
        {
            var line = lines[i].Trim();
            if (!line.StartsWith('|'))
            {
                inTable = false;
                continue;
            }
            var cells = line.Trim('|').Split('|').Select(c => c.Trim()).ToArray();
            bool header = i + 1 < lines.Length && lines[i + 1].TrimStart().StartsWith("|---", StringComparison.Ordinal);
            if (header)
            {
                Assert.True(cells[^1] == "test", $"docs/bad-input.md line {i + 1}: every table needs a last column 'test'; this one ends with '{cells[^1]}'.");
                continue;
            }
            if (line.StartsWith("|---", StringComparison.Ordinal))
            {
                inTable = true;
                continue;
            }
            Assert.True(inTable, $"docs/bad-input.md line {i + 1}: a row outside a table (a blank line or text separates it from its header).");
            rows.Add((i + 1, cells));
        }
        return rows;
    }

    [Fact]
    public void Every_row_names_tests_that_exist_and_every_bad_input_case_has_a_row()
    {
        var lines = File.ReadAllLines(DocPath());
        var rows = Rows(lines);
        Assert.True(rows.Count >= 80, $"only {rows.Count} rows found in docs/bad-input.md");
        var cases = BadInputTests.Cases.Select(c => (string)c[0]).ToHashSet(StringComparer.Ordinal);
        var tests = typeof(BadInputDocTests).Assembly.GetTypes()
            .SelectMany(t => t.GetMethods(BindingFlags.Instance | BindingFlags.Static | BindingFlags.Public | BindingFlags.DeclaredOnly)
                .Where(m => m.GetCustomAttributes<FactAttribute>(inherit: true).Any())
                .Select(m => $"{t.Name}.{m.Name}"))
            .ToHashSet(StringComparer.Ordinal);
        var problems = new List<string>();
        var named = new HashSet<string>(StringComparer.Ordinal);
        int columns = 0;
        foreach (var (line, cells) in rows)
        {
            if (cells.Length < 4) problems.Add($"line {line}: {cells.Length} cells; a row needs entry point, bad input, outcome and test (a '|' inside a cell splits it).");
            var references = Reference().Matches(cells[^1]).Select(m => m.Groups[1].Value).ToArray();
            if (references.Length == 0) problems.Add($"line {line}: the row names no test.");
            foreach (var r in references)
            {
                if (r.StartsWith('"') && r.EndsWith('"') && r.Length > 1)
                {
                    var name = r[1..^1];
                    if (cases.Contains(name)) named.Add(name);
                    else problems.Add($"line {line}: no BadInputTests case \"{name}\".");
                }
                else if (!tests.Contains(r))
                    problems.Add($"line {line}: no test method {r} (write Class.Method).");
            }
            columns = Math.Max(columns, cells.Length);
        }
        foreach (var c in cases.Except(named).Order())
            problems.Add($"BadInputTests case \"{c}\" is named by no row of docs/bad-input.md.");
        Assert.True(problems.Count == 0, string.Join(Environment.NewLine, problems));
    }

    [Fact]
    public void The_check_catches_a_row_without_a_test()
    {
        var rows = Rows(["| a | b | c | test |", "|---|---|---|---|", "| x | y | z | |", "| | y2 | z2 | `Foo.Bar` |"]);
        Assert.Equal(2, rows.Count);
        Assert.Empty(Reference().Matches(rows[0].Cells[^1]));
        Assert.Equal("Foo.Bar", Reference().Match(rows[1].Cells[^1]).Groups[1].Value);
        Assert.ThrowsAny<Exception>(() => Rows(["| a | b | outcome |", "|---|---|---|"]));
        Assert.ThrowsAny<Exception>(() => Rows(["| a | b | c | test |", "|---|---|---|---|", "", "| x | y | z | `Foo.Bar` |"]));
    }
}
