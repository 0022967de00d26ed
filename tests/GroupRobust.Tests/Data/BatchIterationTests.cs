using GroupRobust.Data;
using GroupRobust.Tests.TestSupport;
using TorchSharp;
using static TorchSharp.torch;

namespace GroupRobust.Tests.Data;

[Collection(LeakCollection.Name)]
public class BatchIterationTests
{
    [Fact]
    public void Sequential_batches_cover_the_dataset_once()
    {
        using var ds = Tiny.Dataset(Enumerable.Range(0, 10).Select(i => i % 2).ToArray(), null);
        var seen = new List<long>();
        var sizes = new List<int>();
        foreach (var b in ds.Batches(4))
        {
            seen.AddRange(b.Indices);
            sizes.Add(b.Size);
        }
        Assert.Equal(Enumerable.Range(0, 10).Select(i => (long)i), seen);
        Assert.Equal(new[] { 4, 4, 2 }, sizes);
        Assert.Equal(new[] { 4, 4 }, ds.Batches(4, dropLast: true).Select(b => b.Size).ToArray());
    }

    [Fact]
    public void Shuffled_batches_are_a_permutation_and_follow_the_rng()
    {
        using var ds = Tiny.Dataset(Enumerable.Range(0, 20).Select(i => i % 2).ToArray(), null);
        var a = ds.Batches(3, new Random(1)).SelectMany(b => b.Indices.ToArray()).ToArray();
        var b = ds.Batches(3, new Random(1)).SelectMany(b => b.Indices.ToArray()).ToArray();
        Assert.Equal(a, b);
        Assert.Equal(Enumerable.Range(0, 20).Select(i => (long)i), a.OrderBy(v => v));
        Assert.NotEqual(Enumerable.Range(0, 20).Select(i => (long)i), a);
    }

    [Fact]
    public void The_previous_batch_is_freed_when_the_iteration_advances()
    {
        using var ds = Tiny.Dataset([0, 1, 0, 1], null);
        Batch? first = null;
        foreach (var b in ds.Batches(2))
        {
            if (first is null) first = b;
            else Assert.True(first.Inputs.IsInvalid);
        }
        Assert.True(first!.Inputs.IsInvalid);
    }

    [Fact]
    public void A_loop_with_a_scope_per_step_leaks_nothing()
    {
        using var ds = Tiny.Dataset(Enumerable.Range(0, 64).Select(i => i % 2).ToArray(), [.. Enumerable.Range(0, 64).Select(i => i / 2 % 2)]);
        var rng = new Random(3);
        LeakCheck.AssertFlat(() =>
        {
            foreach (var b in ds.Batches(8, rng))
            {
                using var scope = NewDisposeScope();
                _ = b.Inputs.sum().add(1);
            }
        }, warmup: 2, steps: 50);
    }
}
