using System.Text.RegularExpressions;

namespace GroupRobust.Tests.Architecture;

/// <summary>
/// The folders of src/GroupRobust are pipeline stages; code may only use the stages upstream of its own. Inside the
/// Methods and Identification stages every method (identifier) has a room of its own (a subfolder), and rooms never use
/// each other: what two rooms share lives in a stage upstream of them (Sampling, Mixing) or at the stage's root (the
/// method contract).
/// </summary>
public partial class PipelineDirectionTests
{
    /// <summary>Stage ranks: a folder may use folders of a lower rank only (folders of one rank are siblings).</summary>
    private static readonly Dictionary<string, int> Rank = new()
    {
        ["Randomness"] = 0, ["Groups"] = 1, ["Data"] = 2, ["Models"] = 3, ["Identification"] = 4,
        ["Sampling"] = 5, ["Mixing"] = 5, ["Evaluation"] = 5,
        ["Methods"] = 6, ["Checkpoints"] = 7, ["Training"] = 8, ["Catalog"] = 9, ["Recipes"] = 10,
    };

    /// <summary>The stages whose subfolders are rooms (one method or identifier each).</summary>
    private static readonly string[] RoomStages = ["Methods", "Identification"];

    [GeneratedRegex(@"(?<![\w.])(?:GroupRobust\.)?(Randomness|Groups|Data|Models|Identification|Sampling|Mixing|Evaluation|Methods|Checkpoints|Training|Recipes|Catalog)(?:\.[A-Z]|\s*;)")]
    private static partial Regex Reference();

    [GeneratedRegex(@"^\s*(?:public|internal)\s+(?:(?:sealed|static|abstract|partial|readonly|record)\s+)*(?:class|record|struct|interface|enum)\s+(\w+)")]
    private static partial Regex Declaration();

    [GeneratedRegex(@"cref=""([^""]+)""")]
    private static partial Regex Cref();

    private static string Source => Path.Combine(TestSupport.RepositoryPaths.Root, "src", "GroupRobust");

    [Fact]
    public void Every_arrow_points_downstream()
    {
        var violations = new List<string>();
        foreach (var (folder, rank) in Rank)
        {
            var dir = Path.Combine(Source, folder);
            if (!Directory.Exists(dir)) continue;
            foreach (var file in Directory.EnumerateFiles(dir, "*.cs", SearchOption.AllDirectories))
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
                            violations.Add($"{Path.GetRelativePath(Source, file)}:{i + 1}: {folder} (stage {rank}) uses {used} (stage {Rank[used]})");
                    }
                }
            }
        }
        Assert.True(violations.Count == 0, "Upstream references:\n" + string.Join("\n", violations));
    }

    [Fact]
    public void Every_stage_folder_is_ranked()
    {
        var unranked = Directory.EnumerateDirectories(Source).Select(Path.GetFileName)
            .Where(d => d is not ("bin" or "obj" or "Internal") && !Rank.ContainsKey(d!)).ToList();
        Assert.True(unranked.Count == 0, "Folders without a stage rank: " + string.Join(", ", unranked));
    }

    [Fact]
    public void Rooms_never_use_each_other()
    {
        var violations = new List<string>();
        foreach (var stage in RoomStages)
        {
            var stageDir = Path.Combine(Source, stage);
            var rooms = Directory.EnumerateDirectories(stageDir).ToDictionary(d => Path.GetFileName(d)!, d => Directory.EnumerateFiles(d, "*.cs", SearchOption.AllDirectories).ToList());
            Assert.NotEmpty(rooms);
            var owner = new Dictionary<string, string>(StringComparer.Ordinal);
            foreach (var (room, files) in rooms)
                foreach (var file in files)
                    foreach (var line in File.ReadLines(file))
                        if (Declaration().Match(line) is { Success: true } d) owner[d.Groups[1].Value] = room;
            // the stage's root files (the contract) and every room may use only their own room's types
            var users = rooms.SelectMany(r => r.Value.Select(f => (File: f, Room: (string?)r.Key)))
                .Concat(Directory.EnumerateFiles(stageDir, "*.cs").Select(f => (File: f, Room: (string?)null)));
            foreach (var (file, room) in users)
            {
                var lines = File.ReadAllLines(file);
                for (int i = 0; i < lines.Length; i++)
                {
                    var line = lines[i].Trim();
                    // code, and the cross-references of documentation comments (a cref is a dependency too)
                    var text = line.StartsWith("///", StringComparison.Ordinal) ? string.Join(" ", Cref().Matches(line).Select(m => m.Groups[1].Value))
                        : line.StartsWith("//", StringComparison.Ordinal) ? "" : line;
                    foreach (Match word in Words().Matches(text))
                        if (owner.TryGetValue(word.Value, out var other) && other != room)
                            violations.Add($"{Path.GetRelativePath(Source, file)}:{i + 1}: {(room is null ? $"the {stage} contract" : $"room {room}")} uses {word.Value} of room {other}");
                }
            }
        }
        Assert.True(violations.Count == 0, "Rooms that use each other:\n" + string.Join("\n", violations));
    }

    [GeneratedRegex(@"\b[A-Z]\w*\b")]
    private static partial Regex Words();
}
