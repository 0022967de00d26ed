using GroupRobust.Identification;
using GroupRobust.Tests.TestSupport;

namespace GroupRobust.Tests.Identification;

public class GroupAssignmentTests
{
    [Fact]
    public void Per_class_index_lists_and_counts()
    {
        using var ds = Tiny.Dataset([0, 1, 1, 0, 1, 0], [0, 1, 0, 1, 1, 0]);
        var p = GroupAssignment.FromErrorIndices([2, 3], ds, "test");
        Assert.Equal(2, p.MinorityCount);
        Assert.Equal(4, (p.Count - p.MinorityCount));
        Assert.Equal(new long[] { 2, 1, 2, 1 }, p.GroupCounts());

        Assert.Equal(new[] { 3 }, p.MembersOf((0) * 2 + 1).ToArray());
        Assert.Equal(new[] { 1, 4 }, p.MembersOf((1) * 2).ToArray());
        Assert.True(p.IsMinority(2));
        Assert.False(p.IsMinority(0));
        Assert.Equal(new long[] { 2, 3 }, p.MinorityIndices());
        Assert.Throws<ArgumentOutOfRangeException>(() => p.IsMinority(6));
        Assert.Throws<ArgumentOutOfRangeException>(() => GroupAssignment.FromErrorIndices([6], ds, "test"));
        Assert.Empty(p.ClassesInOneGroup());
        Assert.Equal(new[] { 1 }, GroupAssignment.FromErrorIndices([0, 1, 2, 4], ds, "whole class 1").ClassesInOneGroup());
        Assert.Equal(new[] { 0, 1 }, GroupAssignment.FromErrorIndices([], ds, "empty").ClassesInOneGroup());
    }

    [Fact]
    public void Quality_matches_the_papers_definitions()
    {
        // groups: 0,3,2,1,3,0 -> class 0 has g0 x2, g1 x1 (minority g1); class 1 has g3 x2, g2 x1 (minority g2)
        using var ds = Tiny.Dataset([0, 1, 1, 0, 1, 0], [0, 1, 0, 1, 1, 0]);
        var p = GroupAssignment.FromErrorIndices([2, 0, 5], ds, "test"); // index 2 is g2 (minority); 0 and 5 are g0
        var q = p.Quality(ds);
        Assert.Equal(new[] { 1, 2 }, q.MinorityGroups);
        Assert.Equal(1, q.MinorityInErrorSet);
        Assert.Equal(2, q.MajorityInErrorSet);
        Assert.Equal(2, q.MinorityTotal);
        Assert.Equal(1.0 / 3, q.Precision!.Value, 12);
        Assert.Equal(0.5, q.Recall!.Value, 12);
        Assert.Equal(new long[] { 2, 0, 1, 0 }, q.ErrorSetPerGroup);
        Assert.Equal(new long[] { 2, 1, 1, 2 }, q.TotalPerGroup);
        Assert.Contains("precision 33.3%", q.ToString());
    }

    [Fact]
    public void Save_load_round_trip_keeps_everything()
    {
        using var ds = Tiny.Dataset([0, 1, 1, 0, 1, 0, 1], [0, 1, 0, 1, 1, 0, 0]);
        var p = GroupAssignment.FromErrorIndices([1, 6], ds, "misclassification", epoch: 3);
        var path = Path.Combine(Path.GetTempPath(), $"partition-{Guid.NewGuid():N}.csv");
        try
        {
            p.Save(path);
            var lines = File.ReadAllLines(path);
            Assert.Equal("# grouprobust-groups v1", lines[0]);
            Assert.Equal("index,label,group", lines[2]);
            Assert.Equal("1,1,3", lines[4]);
            var q = GroupAssignment.Load(path, ds);
            Assert.Equal(p.MinorityMask(), q.MinorityMask());
            Assert.Equal(3, q.Metadata.Epoch);
            Assert.Equal("misclassification", q.Metadata.Method);
            Assert.Equal(1.0, p.Overlap(q));
        }
        finally
        {
            File.Delete(path);
        }
    }

    [Theory]
    [InlineData(4, "1,1,3", "2,1,3", "has index 2; expected 1")]
    [InlineData(4, "1,1,3", "1,0,1", "fingerprint")]
    [InlineData(0, "# grouprobust-groups v1", "hello", "not a GroupRobust group assignment")]
    [InlineData(4, "1,1,3", "1,5,3", "label 5")]
    [InlineData(4, "1,1,3", "1,1,9", "has group 9")]
    [InlineData(4, "1,1,3", "1,1,1", "belongs to class 0, but label 1")]
    [InlineData(4, "1,1,3", "1,1,2", "rows fail their checksum")]
    public void Corrupted_files_are_reported_with_file_and_line(int line, string original, string replacement, string expected)
    {
        using var ds = Tiny.Dataset([0, 1, 1, 0], [0, 1, 0, 1]);
        var path = Path.Combine(Path.GetTempPath(), $"partition-{Guid.NewGuid():N}.csv");
        try
        {
            GroupAssignment.FromErrorIndices([1], ds, "test").Save(path);
            var lines = File.ReadAllLines(path);
            Assert.Equal(original, lines[line]);
            lines[line] = replacement;
            File.WriteAllLines(path, lines);
            var ex = Assert.Throws<FormatException>(() => GroupAssignment.Load(path, ds));
            Assert.Contains(expected, ex.Message);
            Assert.Contains(path, ex.Message);
        }
        finally
        {
            File.Delete(path);
        }
    }

    [Fact]
    public void Truncated_file_and_other_dataset_are_rejected()
    {
        using var ds = Tiny.Dataset([0, 1, 1, 0], [0, 1, 0, 1]);
        using var other = Tiny.Dataset([0, 1, 1, 1], [0, 1, 0, 1]);
        using var bigger = Tiny.Dataset([0, 1, 1, 0, 1], [0, 1, 0, 1, 1]);
        var path = Path.Combine(Path.GetTempPath(), $"partition-{Guid.NewGuid():N}.csv");
        try
        {
            GroupAssignment.FromErrorIndices([1], ds, "test").Save(path);
            var ex = Assert.Throws<ArgumentException>(() => GroupAssignment.Load(path, other));
            Assert.Contains("another dataset", ex.Message);
            var ex2 = Assert.Throws<ArgumentException>(() => GroupAssignment.Load(path, bigger));
            Assert.Contains("4 samples but the dataset has 5", ex2.Message);
            File.WriteAllLines(path, File.ReadAllLines(path).Take(5));
            var ex3 = Assert.Throws<FormatException>(() => GroupAssignment.Load(path, ds));
            Assert.Contains("unexpected end of file", ex3.Message);
        }
        finally
        {
            File.Delete(path);
        }
    }

    [Fact]
    public void Overlap_is_jaccard()
    {
        using var ds = Tiny.Dataset([0, 1, 1, 0], [0, 1, 0, 1]);
        var a = GroupAssignment.FromErrorIndices([0, 1, 2], ds, "a");
        var b = GroupAssignment.FromErrorIndices([1, 2, 3], ds, "b");
        Assert.Equal(0.5, a.Overlap(b), 12);
        Assert.Equal(1.0, GroupAssignment.FromErrorIndices([], ds, "x").Overlap(GroupAssignment.FromErrorIndices([], ds, "y")));
    }

    [Fact]
    public void Partition_files_of_earlier_versions_still_load()
    {
        using var ds = Tiny.Dataset([0, 1, 1, 0], null);   // no group labels: with [0, 1, 0, 1] the error set would be the true groups (ProvenanceTests)
        var fingerprint = GroupAssignment.Fingerprint([0, 1, 1, 0]);
        var path = Path.Combine(Path.GetTempPath(), $"partition-{Guid.NewGuid():N}.csv");
        try
        {
            File.WriteAllLines(path,
            [
                "# grouprobust-partition v1",
                $"# {{\"method\":\"misclassification\",\"epoch\":2,\"datasetSize\":4,\"numClasses\":2,\"labelsFingerprint\":\"{fingerprint}\",\"parameters\":{{\"pass\":\"eval\"}}}}",
                "index,label,error_set", "0,0,0", "1,1,1", "2,1,0", "3,0,1",
            ]);
            var p = GroupAssignment.Load(path, ds);
            Assert.Equal(new long[] { 1, 3 }, p.MinorityIndices());
            Assert.Equal(2, p.GroupsPerClass);
            Assert.Equal(GroupSource.Inferred, p.Source);
            Assert.Equal(2, p.Metadata.Epoch);
            Assert.Equal("eval", p.Metadata.Parameters["pass"]);
            Assert.Equal(new[] { 1, 3 }, p.MinorityGroups);
            File.WriteAllLines(path, File.ReadAllLines(path).Select(l => l == "1,1,1" ? "1,1,2" : l));
            Assert.Contains("expected 'index,label,0|1'", Assert.Throws<FormatException>(() => GroupAssignment.Load(path, ds)).Message);
        }
        finally
        {
            File.Delete(path);
        }
    }

    [Fact]
    public void A_header_announcing_more_rows_than_the_file_holds_is_rejected_before_allocating()
    {
        using var ds = Tiny.Dataset([0, 1, 1, 0], [0, 1, 0, 1]);
        var path = Path.Combine(Path.GetTempPath(), $"partition-{Guid.NewGuid():N}.csv");
        try
        {
            GroupAssignment.FromErrorIndices([1], ds, "test").Save(path);
            var lines = File.ReadAllLines(path);
            lines[1] = lines[1].Replace("\"datasetSize\":4", "\"datasetSize\":2000000000");
            File.WriteAllLines(path, lines);
            var ex = Assert.Throws<FormatException>(() => GroupAssignment.Load(path, ds));
            Assert.Contains("announces 2000000000 rows", ex.Message);
            Assert.Contains(path, ex.Message);
            lines[1] = File.ReadAllLines(path)[1].Replace("\"datasetSize\":2000000000", "\"datasetSize\":4").Replace("\"groupsPerClass\":2", "\"groupsPerClass\":2000000000");
            File.WriteAllLines(path, lines);
            Assert.Contains("more than", Assert.Throws<FormatException>(() => GroupAssignment.Load(path, ds)).Message);
        }
        finally
        {
            File.Delete(path);
        }
    }

    [Fact]
    public void Anything_after_the_announced_rows_is_rejected_even_after_a_blank_line()
    {
        using var ds = Tiny.Dataset([0, 1, 1, 0], [0, 1, 0, 1]);
        var path = Path.Combine(Path.GetTempPath(), $"partition-{Guid.NewGuid():N}.csv");
        try
        {
            GroupAssignment.FromErrorIndices([1], ds, "test").Save(path);
            var good = File.ReadAllText(path);
            File.WriteAllText(path, good + "\n\n");   // trailing blank lines only: still the same assignment
            Assert.Equal(4, GroupAssignment.Load(path, ds).Count);
            File.WriteAllText(path, good + "\n4,1,2\n");   // line 8 is blank, line 9 an extra row
            var ex = Assert.Throws<FormatException>(() => GroupAssignment.Load(path, ds));
            Assert.Contains(path, ex.Message);
            Assert.Contains("line 9 ('4,1,2') follows the 4 rows", ex.Message);
        }
        finally
        {
            File.Delete(path);
        }
    }
}

