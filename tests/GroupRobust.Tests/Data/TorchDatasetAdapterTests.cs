using GroupRobust.Data;
using GroupRobust.Groups;
using TorchSharp;
using static TorchSharp.torch;

namespace GroupRobust.Tests.Data;

public class TorchDatasetAdapterTests
{
    private sealed class DictDataset(int n) : utils.data.Dataset
    {
        public override long Count => n;

        public override Dictionary<string, Tensor> GetTensor(long index) => new()
        {
            ["data"] = torch.full([2], (float)index),
            ["label"] = torch.tensor(index % 2),
            ["place"] = torch.tensor(index / 2 % 2),
        };
    }

    [Fact]
    public void Adapter_reads_labels_and_groups_and_stacks_batches()
    {
        using var source = new DictDataset(6);
        var ds = new TorchDatasetAdapter(source, GroupScheme.Binary(), attributeKey: "place");
        Assert.Equal(6, ds.Count);
        Assert.Equal(new[] { 0, 1, 0, 1, 0, 1 }, ds.Labels.ToArray());
        Assert.Equal(new[] { 0, 2, 1, 3, 0, 2 }, ds.Groups.ToArray());
        using var b = ds.GetBatch([5, 2]);
        Assert.Equal(new long[] { 2, 2 }, b.Inputs.shape);
        Assert.Equal(5f, b.Inputs[0, 0].item<float>());
        Assert.Equal(new long[] { 2, 1 }, b.Groups!.data<long>().ToArray());
    }

    [Fact]
    public void Missing_keys_are_reported()
    {
        using var source = new DictDataset(2);
        var ex = Assert.Throws<ArgumentException>(() => new TorchDatasetAdapter(source, GroupScheme.Binary(), labelKey: "y"));
        Assert.Contains("no 'y' entry", ex.Message);
    }
}
