using GroupRobust.Methods;
using GroupRobust.Data;
using GroupRobust.Identification;
using GroupRobust.Sampling;
using GroupRobust.Tests.Identification;
using GroupRobust.Tests.TestSupport;
using TorchSharp;
using static TorchSharp.torch;

namespace GroupRobust.Tests.Sampling;

public class JttReweighterTests
{
    private static (TensorGroupDataset Data, GroupAssignment Errors) Setup(int n = 20, params long[] errors)
    {
        var ds = Tiny.Dataset(Enumerable.Range(0, n).Select(i => i % 2).ToArray(), null);
        return (ds, GroupAssignment.FromErrorIndices(errors, ds, "test"));
    }

    [Fact]
    public void Every_error_sample_appears_lambda_plus_one_times()
    {
        var (ds, errors) = Setup(20, 3, 7, 11);
        using var _ = ds;
        var jtt = new JttReweighter(errors, lambda: 4, seed: 1);
        var epoch = jtt.ToArray();
        Assert.Equal(20 + 4 * 3, epoch.Length);
        Assert.Equal(epoch.Length, jtt.EpochLength);
        var counts = epoch.GroupBy(i => i).ToDictionary(g => g.Key, g => g.Count());
        for (long i = 0; i < 20; i++)
        {
            Assert.Equal(errors.IsMinority(i) ? 5 : 1, counts[i]);
            Assert.Equal(counts[i], jtt.Multiplicity(i));
        }
    }

    [Fact]
    public void Order_changes_every_epoch_and_repeats_for_the_same_seed()
    {
        var (ds, errors) = Setup(30, 1, 2);
        using var _ = ds;
        var a = new JttReweighter(errors, 3, seed: 5);
        var b = new JttReweighter(errors, 3, seed: 5);
        var a0 = a.ToArray();
        var a1 = a.ToArray();
        Assert.NotEqual(a0, a1);
        Assert.Equal(a0, b.ToArray());
        Assert.Equal(a1, b.ToArray());
        Assert.NotEqual(a0, new JttReweighter(errors, 3, seed: 6).ToArray());
    }

    [Fact]
    public void Automatic_lambda_follows_the_reference_formula()
    {
        var (ds, errors) = Setup(100, 1, 2, 3, 4, 5, 6, 7);
        using var _ = ds;
        var jtt = new JttReweighter(errors, JttReweighter.AutomaticLambda, seed: 0);
        Assert.Equal((100 - 7) / 7 - 1, jtt.Lambda);
        Assert.Equal(12, jtt.Lambda);
        Assert.Equal(-1, JttReweighter.AutomaticLambdaFor(10, 6));
    }

    [Fact]
    public void The_automatic_lambda_refuses_an_error_set_that_is_not_a_minority_of_its_class()
    {
        // 100 samples: class 0 has 90 (2 in the error set), class 1 has 10 (6 in the error set): |E| = 8 is small overall,
        // so floor(92 / 8) - 1 = 10 would upsample, but the error set is 60% of class 1: upsampling makes it the majority
        var labels = Enumerable.Range(0, 100).Select(i => i < 90 ? 0 : 1).ToArray();
        using var ds = Tiny.Dataset(labels, null);
        var skewed = GroupAssignment.FromErrorIndices([3, 50, 90, 91, 92, 93, 94, 95], ds, "test");
        var ex = Assert.Throws<InvalidOperationException>(() => new JttReweighter(skewed, JttReweighter.AutomaticLambda, 0));
        Assert.Contains("holds 6 of the 10 samples of class 'y=1' (60%)", ex.Message);
        Assert.Contains("explicit lambda", ex.Message);
        Assert.Contains("is a minority of each class", Assert.Throws<InvalidOperationException>(() => new JttMethod(skewed, new GroupRobust.Randomness.SeedSource(0), null)).Message);
        // an explicit lambda is the caller's decision; a minority in every class takes the automatic one
        Assert.Equal(20, new JttReweighter(skewed, 20, 0).Lambda);
        var minority = GroupAssignment.FromErrorIndices([3, 50, 90, 91], ds, "test");
        Assert.Equal((100 - 4) / 4 - 1, new JttReweighter(minority, JttReweighter.AutomaticLambda, 0).Lambda);
    }

    [Fact]
    public void Bad_lambda_and_degenerate_error_sets_are_handled_visibly()
    {
        var (ds, errors) = Setup(10);
        using var _ = ds;
        Assert.Throws<ArgumentOutOfRangeException>(() => new JttReweighter(errors, -2, 0));
        var ex = Assert.Throws<InvalidOperationException>(() => new JttReweighter(errors, -1, 0));
        Assert.Contains("empty error set", ex.Message);
        var logger = new ListLogger();
        var big = GroupAssignment.FromErrorIndices(Enumerable.Range(0, 8).Select(i => (long)i), ds, "test");
        var degenerate = Assert.Throws<InvalidOperationException>(() => new JttReweighter(big, -1, 0, logger));
        Assert.Contains("= -1: the error set holds 8 of 10 samples, so JTT would not upsample at all", degenerate.Message);
        var third = GroupAssignment.FromErrorIndices(Enumerable.Range(0, 4).Select(i => (long)i), ds, "test"); // floor(6 / 4) - 1 = 0
        Assert.Contains("explicit lambda", Assert.Throws<InvalidOperationException>(() => new JttReweighter(third, -1, 0)).Message);
        var zero = new JttReweighter(big, 0, 0, logger);
        Assert.Equal(10, zero.EpochLength);
        Assert.Contains(logger.Messages, m => m.Contains("plain ERM"));
        // information: the lambda was asked for (JTT's default search trains one in every search)
        Assert.Equal(Microsoft.Extensions.Logging.LogLevel.Information, logger.Levels[logger.Messages.FindIndex(m => m.Contains("plain ERM"))]);
    }

    [Fact]
    public void A_lambda_whose_epoch_cannot_be_held_is_refused_at_construction()
    {
        var (ds, _) = Setup(10);
        using var __ = ds;
        var errors = GroupAssignment.FromErrorIndices([1, 2], ds, "test");
        long most = (Array.MaxLength - 10L) / 2;
        var ex = Assert.Throws<ArgumentOutOfRangeException>(() => new JttReweighter(errors, int.MaxValue, 0));
        Assert.Equal("lambda", ex.ParamName);
        Assert.Contains($"lambda can be at most {most} here", ex.Message);
        Assert.Throws<ArgumentOutOfRangeException>(() => EpochOrder.Upsampled(errors, int.MaxValue));
        Assert.Equal(10 + 2L * 1000, new JttReweighter(errors, 1000, 0).EpochLength);   // a large but holdable lambda is fine
    }

    [Fact]
    public void Works_with_batch_iteration_and_torchsharp_dataloader()
    {
        var (ds, errors) = Setup(12, 0, 5);
        using var _ = ds;
        var jtt = new JttReweighter(errors, 2, seed: 3);
        var fromBatches = ds.Batches(jtt, batchSize: 5).SelectMany(b => b.Indices.ToArray()).ToArray();
        Assert.Equal(16, fromBatches.Length);
        Assert.Equal(jtt.IndicesForEpoch(1), fromBatches);
        Assert.Equal(2, jtt.Epoch);

        using var source = new IndexDataset(12);
        using var loader = new TorchSharp.Modules.DataLoader(source, 4, jtt, CPU);
        var seen = new List<long>();
        foreach (var batch in loader)
        {
            seen.AddRange(batch["index"].data<long>().ToArray());
            foreach (var t in batch.Values) t.Dispose();
        }
        Assert.Equal(jtt.IndicesForEpoch(2), seen);
    }

    private sealed class IndexDataset(int n) : utils.data.Dataset
    {
        public override long Count => n;

        public override Dictionary<string, Tensor> GetTensor(long index) => new() { ["index"] = torch.tensor(index) };
    }
}
