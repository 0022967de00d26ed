using GroupRobust.Data;
using GroupRobust.Groups;
using GroupRobust.Identification;
using GroupRobust.Tests.TestSupport;

namespace GroupRobust.Tests.Identification;

/// <summary>Label budgets follow what the groups are: an edited saved source, and ground truth passed through the dataset-taking inferred factories.</summary>
public class ProvenanceTests
{
    // 2 classes x 2 attributes; the minority groups are (0, 1) and (1, 0)
    private static readonly int[] Labels = [0, 0, 0, 0, 1, 1, 1, 1, 0, 1];
    private static readonly int[] Attributes = [0, 0, 0, 1, 1, 1, 1, 0, 0, 1];

    [Fact]
    public void True_attributes_through_the_inferred_factories_count_as_true_groups()
    {
        using var ds = Tiny.Dataset(Labels, Attributes);
        // the minority groups as an "error set": the same partition as the true groups
        var laundered = GroupAssignment.FromErrorSet(Attributes.Select((a, i) => a != Labels[i]).ToArray(), ds, "not-really-inferred");
        Assert.Equal(GroupSource.TrueLabels, laundered.Source);
        Assert.Equal(LabelBudget.TrainingGroups, laundered.TrainingBudget);
        Assert.Contains("found equal to the true groups", laundered.Metadata.Parameters["provenance"]);
        Assert.Contains("(true groups)", laundered.ToString());

        // the same through the index factory, with the values relabelled (the error set is the majority here): still the same partition
        var indices = Enumerable.Range(0, Labels.Length).Where(i => Attributes[i] == Labels[i]).Select(i => (long)i);
        Assert.Equal(LabelBudget.TrainingGroups, GroupAssignment.FromErrorIndices(indices, ds, "majority as error set").TrainingBudget);

        // a partition that is not the true one stays inferred, as does any partition of a dataset without group labels
        var honest = GroupAssignment.FromErrorIndices([0, 4], ds, "honest");
        honest.EnsureMatches(ds);
        Assert.Equal(GroupSource.Inferred, honest.Source);
        var blind = GroupAssignment.FromErrorSet(Attributes.Select((a, i) => a != Labels[i]).ToArray(), ds.WithoutGroupLabels(), "blind");
        Assert.Equal(GroupSource.Inferred, blind.Source);
        // a trivial partition (one group per class) says nothing and stays inferred
        var trivial = GroupAssignment.FromInferred(new int[Labels.Length], Labels, 2, 1, [], "one group");
        trivial.EnsureMatches(ds);
        Assert.Equal(GroupSource.Inferred, trivial.Source);
    }

    [Fact]
    public void Editing_a_saved_assignments_source_fails_its_checksum()
    {
        using var ds = Tiny.Dataset(Labels, Attributes);
        var truth = GroupAssignment.FromTrueGroups(ds);
        using var dir = new TempDirectory();
        truth.Save(dir.File("g.csv"));
        Assert.Equal(GroupSource.TrueLabels, GroupAssignment.Load(dir.File("g.csv"), ds).Source);
        var lines = File.ReadAllLines(dir.File("g.csv"));
        Assert.Contains("\"source\":\"TrueLabels\"", lines[1]);
        lines[1] = lines[1].Replace("\"source\":\"TrueLabels\"", "\"source\":\"Inferred\"");
        File.WriteAllLines(dir.File("g.csv"), lines);
        var ex = Assert.Throws<FormatException>(() => GroupAssignment.Load(dir.File("g.csv"), ds));
        Assert.Contains("g.csv", ex.Message);
        Assert.Contains("line 2 fails its checksum", ex.Message);
        // removing the checksum makes it a file of an earlier version, which loads, but its groups are still the true ones
        lines[1] = System.Text.RegularExpressions.Regex.Replace(lines[1], ",\"contentSha256\":\"[0-9A-F]+\"", "");
        File.WriteAllLines(dir.File("g.csv"), lines);
        Assert.Equal(GroupSource.TrueLabels, GroupAssignment.Load(dir.File("g.csv"), ds).Source);
    }
}
