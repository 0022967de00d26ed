using System.Text.RegularExpressions;

namespace GroupRobust.Tests.Architecture;

/// <summary>The folders of src/GroupRobust are pipeline stages; code may only use the stages upstream of its own.</summary>
public partial class PipelineDirectionTests
{
    /// <summary>Stage ranks: a folder may use folders of a lower rank only (folders of one rank are siblings).</summary>
    private static readonly Dictionary<string, int> Rank = new()
    {
        ["Randomness"] = 0, ["Groups"] = 1, ["Data"] = 2, ["Identification"] = 3,
        ["Reweighting"] = 4, ["Mixing"] = 4, ["Losses"] = 4,
        ["Methods"] = 5, ["Evaluation"] = 6, ["Checkpoints"] = 7, ["Training"] = 8, ["Retraining"] = 9,
    };

    [GeneratedRegex(@"(?<![\w.])(?:GroupRobust\.)?(Randomness|Groups|Data|Identification|Reweighting|Mixing|Losses|Methods|Evaluation|Checkpoints|Training|Retraining)(?:\.[A-Z]|\s*;)")]
    private static partial Regex Reference();

    [Fact]
    public void Every_arrow_points_downstream()
    {
        var src = Path.Combine(TestSupport.RepositoryPaths.Root, "src", "GroupRobust");
        var violations = new List<string>();
        foreach (var (folder, rank) in Rank)
        {
            foreach (var file in Directory.EnumerateFiles(Path.Combine(src, folder), "*.cs", SearchOption.AllDirectories))
            {
                var lines = File.ReadAllLines(file);
                for (int i = 0; i < lines.Length; i++)
                {
                    var line = lines[i].Trim();
                    if (line.StartsWith("//", StringComparison.Ordinal)) continue;
                    foreach (Match m in Reference().Matches(line))
                    {
                        var used = m.Groups[1].Value;
                        if (used == folder || line.StartsWith($"namespace GroupRobust.{folder}", StringComparison.Ordinal)) continue;
                        if (Rank[used] >= rank)
                            violations.Add($"{Path.GetRelativePath(src, file)}:{i + 1}: {folder} (stage {rank}) uses {used} (stage {Rank[used]})");
                    }
                }
            }
        }
        Assert.True(violations.Count == 0, "Upstream references:\n" + string.Join("\n", violations));
    }
}
