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

    [Fact]
    public void Prefetched_batches_are_the_same_batches_in_the_same_order()
    {
        using var ds = Tiny.Dataset(Enumerable.Range(0, 23).Select(i => i % 2).ToArray(), null);
        var order = Enumerable.Range(0, 23).Select(i => (long)((i * 7) % 23)).ToArray();
        var plain = ds.Batches(order, 5).Select(b => (b.Indices.ToArray(), b.Inputs.data<float>().ToArray())).ToList();
        var prefetched = ds.PrefetchedBatches(order, 5).Select(b => (b.Indices.ToArray(), b.Inputs.data<float>().ToArray())).ToList();
        Assert.Equal(plain.Count, prefetched.Count);
        for (int k = 0; k < plain.Count; k++)
        {
            Assert.Equal(plain[k].Item1, prefetched[k].Item1);
            Assert.Equal(plain[k].Item2, prefetched[k].Item2);
        }
        Assert.Equal(4, ds.PrefetchedBatches(order, 5, dropLast: true).Count());
    }

    [Fact]
    public void A_prefetching_loop_that_ends_early_or_fails_leaves_no_tensor_behind()
    {
        using var ds = Tiny.Dataset(Enumerable.Range(0, 40).Select(i => i % 2).ToArray(), null);
        var order = Enumerable.Range(0, 40).Select(i => (long)i).ToArray();
        foreach (var _ in ds.PrefetchedBatches(order, 4).Take(1)) { }   // warm-up
        long before = torch.Tensor.TotalCount;   // all threads: the worker creates, the caller disposes
        foreach (var batch in ds.PrefetchedBatches(order, 4))
            if (batch.Indices[0] == 8) break;   // the next batch is already being gathered
        // an index out of range in the fourth batch: the first three arrive, the error surfaces at the fourth
        var bad = order.Take(12).Append(99L).ToArray();
        int seen = 0;
        var ex = Assert.Throws<ArgumentOutOfRangeException>(() => { foreach (var _ in ds.PrefetchedBatches(bad, 4)) seen++; });
        Assert.Equal(3, seen);
        Assert.Contains("99", ex.Message);
        Assert.True(torch.Tensor.TotalCount <= before, $"live tensors grew from {before} to {torch.Tensor.TotalCount}");
    }
}
