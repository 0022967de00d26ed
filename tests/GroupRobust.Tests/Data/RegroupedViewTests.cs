using GroupRobust.Data;
using GroupRobust.Evaluation;
using GroupRobust.Groups;
using GroupRobust.Identification;
using GroupRobust.Tests.TestSupport;
using TorchSharp;
using static TorchSharp.torch;

namespace GroupRobust.Tests.Data;

public class RegroupedViewTests
{
    private static long[] Longs(Tensor t) => t.to(ScalarType.Int64).data<long>().ToArray();

    // labels and true attributes of six samples: true groups 1, 0, 3, 2, 0, 3
    private static TensorGroupDataset Six() => Tiny.Dataset([0, 0, 1, 1, 0, 1], [1, 0, 1, 0, 0, 1]);

    [Fact]
    public void Batches_carry_the_assignments_group_ids_and_nothing_else_changes()
    {
        using var ds = Six();
        // an inferred error set {1, 2, 5}: groups (y, rest) = 2y, (y, error set) = 2y + 1
        var errors = GroupAssignment.FromErrorIndices([1, 2, 5], ds, "test");
        using var view = errors.ApplyTo(ds);
        Assert.True(view.Inferred);
        Assert.True(view.HasGroups);
        Assert.Equal(6, view.Count);
        Assert.Equal(errors.Scheme, view.Scheme);
        Assert.Equal(new[] { 0, 1, 3, 2, 0, 3 }, view.Groups.ToArray());
        Assert.Equal(ds.Labels.ToArray(), view.Labels.ToArray());
        Assert.Equal(ds.Device, view.Device);
        using var b = view.GetBatch([5, 1, 0, 1]);
        Assert.Equal(new long[] { 5, 1, 0, 1 }, b.Indices);
        Assert.Equal(new long[] { 3, 1, 0, 1 }, Longs(b.Groups!));
        Assert.Equal(new long[] { 1, 0, 0, 0 }, Longs(b.Labels));
        Assert.Equal(new float[] { 5, 1, 0, 1 }, b.Inputs[.., 0].data<float>().ToArray());   // inputs[i] = [i, y, a]
        // the dataset itself is unchanged, and disposing the view leaves it usable
        view.Dispose();
        using var original = ds.GetBatch([5, 1]);
        Assert.Equal(new long[] { 3, 0 }, Longs(original.Groups!));

        // the true groups through a view are not inferred; their ids are the dataset's
        using var truth = GroupAssignment.FromTrueGroups(ds).ApplyTo(ds);
        Assert.False(truth.Inferred);
        Assert.Equal(ds.Groups.ToArray(), truth.Groups.ToArray());
    }

    [Fact]
    public void Views_give_groups_to_ungrouped_data_and_other_group_counts()
    {
        using var ds = Six();
        var ungrouped = ds.WithoutGroupLabels();
        // three inferred values per class: 6 groups
        int[] values = [2, 0, 1, 2, 1, 0];
        var three = GroupAssignment.FromInferred(values, ds.Labels.Span, 2, 3, [2, 5], "test");
        using var view = three.ApplyTo(ungrouped);
        Assert.True(view.HasGroups);
        Assert.Equal(6, view.Scheme.NumGroups);
        Assert.Equal(new[] { 2, 0, 4, 5, 1, 3 }, view.Groups.ToArray());
        using (var b = view.GetBatch([0, 3]))
            Assert.Equal(new long[] { 2, 5 }, Longs(b.Groups!));
        // a view of a view reads the innermost dataset with the outer groups
        var errors = GroupAssignment.FromErrorIndices([0], ds, "test");
        using var twice = errors.ApplyTo(view);
        using (var b = twice.GetBatch([0, 3]))
        {
            Assert.Equal(new long[] { 1, 2 }, Longs(b.Groups!));
            Assert.Equal(new float[] { 0, 3 }, b.Inputs[.., 0].data<float>().ToArray());
        }
        // evaluation per group uses the view's groups
        using var evaluator = new WorstGroupEvaluator(view.Scheme, new EvaluatorOptions { BootstrapSamples = 0 });
        using var model = Seeded.Init(nn.Linear(3, 2), 0);
        var result = evaluator.Evaluate(model, view);
        Assert.Equal(6, result.Groups.Count);
        Assert.Equal(new long[] { 1, 1, 1, 1, 1, 1 }, result.Groups.Select(g => g.Count));
    }

    [Fact]
    public void Inconsistent_groups_are_rejected()
    {
        using var ds = Six();
        var scheme = GroupScheme.Binary();
        // sample 0 has label 0, group 2 belongs to class 1
        var ex = Assert.Throws<ArgumentException>(() => new RegroupedView(ds, scheme, [2, 0, 3, 2, 0, 3], inferred: true));
        Assert.Equal("groups", ex.ParamName);
        Assert.Contains("Sample 0", ex.Message);
        Assert.Equal("groups", Assert.Throws<ArgumentOutOfRangeException>(() => new RegroupedView(ds, scheme, [0, 0, 4, 2, 0, 3], true)).ParamName);
        Assert.Equal("groups", Assert.Throws<ArgumentOutOfRangeException>(() => new RegroupedView(ds, scheme, [-1, 0, 3, 2, 0, 3], true)).ParamName);
        Assert.Equal("groups", Assert.Throws<ArgumentException>(() => new RegroupedView(ds, scheme, [0, 0, 3, 2, 0], true)).ParamName);
        Assert.Equal("groups", Assert.Throws<ArgumentException>(() => new RegroupedView(ds, scheme, [0, 0, 3, 2, 0, 3, 3], true)).ParamName);
        Assert.Equal("scheme", Assert.Throws<ArgumentException>(() => new RegroupedView(ds, new GroupScheme(3, 2), [0, 0, 3, 2, 0, 3], true)).ParamName);
        Assert.Throws<ArgumentNullException>(() => new RegroupedView(null!, scheme, [0], true));
        Assert.Throws<ArgumentNullException>(() => new RegroupedView(ds, null!, [0, 0, 3, 2, 0, 3], true));
        // a consistent direct construction works
        using var ok = new RegroupedView(ds, scheme, [0, 0, 3, 2, 0, 3], inferred: false);
        Assert.False(ok.Inferred);
        // out-of-range batch indices are refused
        Assert.Throws<ArgumentOutOfRangeException>(() => ok.GetBatch([6]));
        Assert.Throws<ArgumentException>(() => ok.GetBatch([]));
    }

    [Fact]
    public void ApplyTo_another_dataset_is_rejected()
    {
        using var ds = Six();
        var errors = GroupAssignment.FromErrorIndices([1], ds, "test");
        using var shorter = Tiny.Dataset([0, 0, 1, 1, 0], [1, 0, 1, 0, 0]);
        Assert.Equal("dataset", Assert.Throws<ArgumentException>(() => errors.ApplyTo(shorter)).ParamName);
        using var relabelled = Tiny.Dataset([0, 1, 1, 1, 0, 1], [1, 0, 1, 0, 0, 1]);   // same size, other labels
        Assert.Contains("another dataset", Assert.Throws<ArgumentException>(() => errors.ApplyTo(relabelled)).Message);
        using var threeClasses = Tiny.Dataset([0, 0, 1, 1, 0, 1], null, new GroupScheme(3, 1));
        Assert.Equal("dataset", Assert.Throws<ArgumentException>(() => errors.ApplyTo(threeClasses)).ParamName);
    }
}

public class SubsetViewTests
{
    private static long[] Longs(Tensor t) => t.to(ScalarType.Int64).data<long>().ToArray();

    [Fact]
    public void Batches_carry_the_views_indices_and_the_rows_samples()
    {
        using var ds = Tiny.Dataset([0, 0, 1, 1, 0, 1], [1, 0, 1, 0, 0, 1]);   // groups 1, 0, 3, 2, 0, 3
        using var view = new SubsetView(ds, [4, 2, 2, 0]);
        Assert.Equal(4, view.Count);
        Assert.Equal(new long[] { 4, 2, 2, 0 }, view.Rows);
        Assert.Equal(new[] { 0, 1, 1, 0 }, view.Labels.ToArray());
        Assert.True(view.HasGroups);
        Assert.Equal(new[] { 0, 3, 3, 1 }, view.Groups.ToArray());
        Assert.Equal(ds.Scheme, view.Scheme);
        using var b = view.GetBatch([3, 0, 1]);
        Assert.Equal(new long[] { 3, 0, 1 }, b.Indices);                          // the view's indices, not the dataset's
        Assert.Equal(new float[] { 0, 4, 2 }, b.Inputs[.., 0].data<float>().ToArray());   // the rows' samples
        Assert.Equal(new long[] { 0, 0, 1 }, Longs(b.Labels));
        Assert.Equal(new long[] { 1, 0, 3 }, Longs(b.Groups!));
        // every batch of an epoch has indices in [0, M)
        var seen = view.Batches(3).SelectMany(x => x.Indices).ToArray();
        Assert.Equal(new long[] { 0, 1, 2, 3 }, seen);
        // disposing the view leaves the dataset alone
        view.Dispose();
        using var after = ds.GetBatch([5]);
        Assert.Equal(5f, after.Inputs[0, 0].item<float>());
    }

    [Fact]
    public void Views_of_ungrouped_and_regrouped_data_and_group_assignments_of_a_view()
    {
        using var ds = Tiny.Dataset([0, 0, 1, 1, 0, 1], [1, 0, 1, 0, 0, 1]);
        using var ungrouped = new SubsetView(ds.WithoutGroupLabels(), [1, 3]);
        Assert.False(ungrouped.HasGroups);
        Assert.Empty(ungrouped.Groups.ToArray());
        using (var b = ungrouped.GetBatch([1]))
            Assert.Null(b.Groups);

        var errors = GroupAssignment.FromErrorIndices([3], ds, "test");
        using var regrouped = errors.ApplyTo(ds);
        using var sub = new SubsetView(regrouped, [3, 2]);
        Assert.Equal(new[] { 3, 2 }, sub.Groups.ToArray());
        using (var b = sub.GetBatch([0, 1]))
            Assert.Equal(new long[] { 3, 2 }, Longs(b.Groups!));

        // an assignment built for the view indexes the view (its labels), not the dataset
        var ofView = GroupAssignment.FromErrorIndices([0], sub, "test");
        using var again = ofView.ApplyTo(sub);
        Assert.Equal(new[] { 3, 2 }, again.Groups.ToArray());
        Assert.Throws<ArgumentException>(() => ofView.ApplyTo(ds));
    }

    [Fact]
    public void Bad_rows_and_indices_are_rejected()
    {
        using var ds = Tiny.Dataset([0, 1, 1], [0, 1, 0]);
        Assert.Equal("rows", Assert.Throws<ArgumentException>(() => new SubsetView(ds, [])).ParamName);
        Assert.Equal("rows", Assert.Throws<ArgumentOutOfRangeException>(() => new SubsetView(ds, [0, 3])).ParamName);
        Assert.Equal("rows", Assert.Throws<ArgumentOutOfRangeException>(() => new SubsetView(ds, [-1])).ParamName);
        Assert.Throws<ArgumentNullException>(() => new SubsetView(null!, [0]));
        using var view = new SubsetView(ds, [2, 0]);
        Assert.Equal("indices", Assert.Throws<ArgumentOutOfRangeException>(() => view.GetBatch([2])).ParamName);
        Assert.Equal("indices", Assert.Throws<ArgumentOutOfRangeException>(() => view.GetBatch([-1])).ParamName);
        Assert.Equal("indices", Assert.Throws<ArgumentException>(() => view.GetBatch([])).ParamName);
    }
}
