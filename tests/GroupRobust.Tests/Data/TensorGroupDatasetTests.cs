using GroupRobust.Data;
using GroupRobust.Groups;
using GroupRobust.Tests.TestSupport;
using TorchSharp;
using static TorchSharp.torch;

namespace GroupRobust.Tests.Data;

public class TensorGroupDatasetTests
{
    [Fact]
    public void GetBatch_gathers_rows_labels_and_groups_in_order()
    {
        using var ds = Tiny.Dataset([0, 1, 1, 0], [1, 1, 0, 0]);
        Assert.Equal(4, ds.Count);
        Assert.True(ds.HasGroups);
        Assert.Equal(new[] { 1, 3, 2, 0 }, ds.Groups.ToArray());
        using var b = ds.GetBatch([2, 0, 2]);
        Assert.Equal(new long[] { 2, 0, 2 }, b.Indices);
        Assert.Equal(new long[] { 1, 0, 1 }, b.Labels.data<long>().ToArray());
        Assert.Equal(new long[] { 2, 1, 2 }, b.Groups!.data<long>().ToArray());
        Assert.Equal(new float[] { 2, 0, 2 }, b.Inputs[.., 0].data<float>().ToArray());
    }

    [Fact]
    public void Transform_runs_per_batch_on_compact_storage()
    {
        using var scope = NewDisposeScope();
        var images = torch.tensor(new byte[] { 0, 255, 51, 102 }, [4, 1]);
        using var ds = new TensorGroupDataset(images, torch.tensor(new long[] { 0, 1, 0, 1 }), GroupScheme.Binary(),
            transform: x => x.to(ScalarType.Float32).div(255f));
        using var b = ds.GetBatch([1, 2]);
        Assert.Equal(ScalarType.Float32, b.Inputs.dtype);
        Assert.Equal(1f, b.Inputs[0, 0].item<float>(), 1e-5);
        Assert.Equal(0.2f, b.Inputs[1, 0].item<float>(), 1e-5);
        Assert.False(ds.HasGroups);
        Assert.Null(b.Groups);
    }

    [Fact]
    public void Disposing_the_dataset_leaves_the_callers_tensors_alive()
    {
        using var x = torch.ones(3, 2);
        using var y = torch.tensor(new long[] { 0, 1, 0 });
        var ds = new TensorGroupDataset(x, y, GroupScheme.Binary());
        ds.Dispose();
        Assert.Equal(6f, x.sum().item<float>());
        Assert.Equal(1L, y.sum().item<long>());
    }

    [Fact]
    public void Bad_construction_names_the_argument_and_value()
    {
        using var scope = NewDisposeScope();
        var ex = Assert.Throws<ArgumentOutOfRangeException>(() =>
            new TensorGroupDataset(torch.zeros(3, 2), torch.tensor(new long[] { 0, 2, 0 }), GroupScheme.Binary()));
        Assert.Equal("labels", ex.ParamName);
        Assert.Contains("sample 1: label 2 is out of range", ex.Message);
        var ex2 = Assert.Throws<ArgumentException>(() =>
            new TensorGroupDataset(torch.zeros(3, 2), torch.tensor(new long[] { 0, 1 }), GroupScheme.Binary()));
        Assert.Contains("'labels' has 2 rows but 'inputs' has 3", ex2.Message);
        var ex3 = Assert.Throws<ArgumentException>(() =>
            new TensorGroupDataset(torch.zeros(3, 2), torch.zeros(3), GroupScheme.Binary()));
        Assert.Contains("integer dtype", ex3.Message);
        var ex4 = Assert.Throws<ArgumentOutOfRangeException>(() =>
            new TensorGroupDataset(torch.zeros(2, 2), torch.tensor(new long[] { 0, 1 }), GroupScheme.Binary(), torch.tensor(new long[] { 0, 3 })));
        Assert.Equal("attributes", ex4.ParamName);
    }

    [Fact]
    public void GetBatch_rejects_out_of_range_and_empty_indices()
    {
        using var ds = Tiny.Dataset([0, 1], [0, 1]);
        var ex = Assert.Throws<ArgumentOutOfRangeException>(() => ds.GetBatch([0, 2]));
        Assert.Contains("position 1 is 2", ex.Message);
        Assert.Throws<ArgumentOutOfRangeException>(() => ds.GetBatch([-1]));
        Assert.Throws<ArgumentException>(() => ds.GetBatch([]));
    }

    [Fact]
    public void Subset_copies_samples_and_groups()
    {
        using var ds = Tiny.Dataset([0, 1, 1, 0], [1, 1, 0, 0]);
        using var sub = ds.Subset([3, 1]);
        Assert.Equal(new[] { 0, 1 }, sub.Labels.ToArray());
        Assert.Equal(new[] { 0, 3 }, sub.Groups.ToArray());
        using var b = sub.GetBatch([0]);
        Assert.Equal(3f, b.Inputs[0, 0].item<float>());
    }

    [Fact]
    public void Group_counts_are_counted_on_the_host()
    {
        using var ds = Tiny.Dataset([0, 1, 1, 0, 0], [1, 1, 0, 0, 0]);
        Assert.Equal(new long[] { 2, 1, 1, 1 }, GroupCounts.Of(ds));
        Assert.Equal(new long[] { 3, 2 }, GroupCounts.OfClasses(ds));
        using var noGroups = Tiny.Dataset([0, 1], null);
        Assert.Throws<InvalidOperationException>(() => GroupCounts.Of(noGroups));
    }
}
