using System.Runtime.ExceptionServices;
using GroupRobust.Distributed;
using GroupRobust.Methods;
using GroupRobust.Randomness;
using GroupRobust.Tests.Methods;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace GroupRobust.Tests.Distributed;

/// <summary>
/// Ranks that would average the wrong gradients (the same number of parameters in another layout) or run out of steps
/// at different times (another training split or global batch) stop before the first gradient is exchanged, every rank
/// with the same GroupRobust message naming the ranks that differ from rank 0 and what differs; nothing changes. The
/// ranks are threads of one process (<see cref="ThreadJob"/>), each with its own model, data and method.
/// </summary>
public class DataParallelLayoutTests(Xunit.Abstractions.ITestOutputHelper output)
{
    /// <summary>A linear layer that keeps its weight transposed, [in, out]: the same numbers as nn.Linear in another layout.</summary>
    private sealed class TransposedLinear : nn.Module<Tensor, Tensor>
    {
        private readonly Parameter weight;
        private readonly Parameter bias;

        public TransposedLinear(int inputs, int outputs, long seed) : base(nameof(TransposedLinear))
        {
            using var generator = new torch.Generator((ulong)seed);
            weight = new Parameter(torch.randn([inputs, outputs], generator: generator).mul_(0.4));
            bias = new Parameter(torch.zeros(outputs));
            RegisterComponents();
        }

        public override Tensor forward(Tensor input) => input.matmul(weight).add(bias);
    }

    /// <summary>MethodFactory's model ("lin1", "act", "fc": 82 numbers) with lin1's weight stored transposed: 82 numbers too.</summary>
    private static nn.Module<Tensor, Tensor> Transposed(long seed)
        => nn.Sequential(("lin1", new TransposedLinear(2, 16, seed)), ("act", nn.ReLU()), ("fc", nn.Linear(16, 2)));

    private static Dictionary<string, (float[] Value, float[]? Grad)> Snapshot(nn.Module model)
        => model.named_parameters().ToDictionary(np => np.name, np => (np.parameter.data<float>().ToArray(), np.parameter.grad?.data<float>().ToArray()));

    private static void AssertUnchanged(Dictionary<string, (float[] Value, float[]? Grad)> before, nn.Module model)
    {
        var after = Snapshot(model);
        Assert.Equal(before.Keys, after.Keys);
        foreach (var (name, (value, grad)) in before)
        {
            Assert.True(value.AsSpan().SequenceEqual(after[name].Value), $"parameter {name} changed");
            Assert.True(grad is null ? after[name].Grad is null : grad.AsSpan().SequenceEqual(after[name].Grad), $"the gradient of {name} changed");
        }
    }

    /// <summary>Every rank's result; a rank's own failure (an assertion in its body) is rethrown, before the others' reactions to it.</summary>
    private static T[] Results<T>(ThreadJob.Outcome<T>[] outcomes)
    {
        var failure = outcomes.Select(o => o.Error).FirstOrDefault(e => e is not null and not CollectiveMismatchException)
            ?? outcomes.Select(o => o.Error).FirstOrDefault(e => e is not null);
        if (failure is not null) ExceptionDispatchInfo.Capture(failure).Throw();
        return outcomes.Select(o => o.Result!).ToArray();
    }

    /// <summary>The message every rank threw (the same on every rank).</summary>
    private string OneMessage(Exception?[] errors)
    {
        var messages = errors.Select((e, r) => Assert.IsType<InvalidOperationException>(e ?? throw new Xunit.Sdk.XunitException($"rank {r} did not throw"))).Select(e => e.Message).ToArray();
        Assert.All(messages, m => Assert.Equal(messages[0], m));
        output.WriteLine(messages[0]);
        return messages[0];
    }

    /// <summary>One epoch of TrainEpoch on every rank (JM1 unless told, 300 rows and global batches of 16 rows per rank unless the rank says otherwise); returns what it threw, after checking that nothing changed.</summary>
    private static Exception? RefusedEpoch(ICollective job, Func<int, nn.Module<Tensor, Tensor>> model, Func<int, int>? trainSize = null, Func<int, int>? globalBatch = null, string kind = "jm1")
    {
        using var data = MethodFactory.Data(trainSize?.Invoke(job.Rank) ?? 300);
        using var replica = model(job.Rank);
        using var opt = torch.optim.SGD(replica.parameters(), 0.1);
        using var method = MethodFactory.Make(kind, data, new SeedSource(5));
        var before = Snapshot(replica);
        var position = method.GetState().Values["epoch"];
        var error = Record.Exception(() => DataParallel.TrainEpoch(method, replica, opt, data.Train, 1, 2, globalBatch?.Invoke(job.Rank) ?? 16 * job.Size, job));
        AssertUnchanged(before, replica);
        Assert.Equal(position, method.GetState().Values["epoch"]);   // the refused epoch was not begun
        method.BeginEpoch(1, 2);                                       // (BeginEpoch throws inside an epoch)
        method.EndEpoch();
        return error;
    }

    [Fact]
    public void TrainEpoch_refuses_a_rank_whose_model_has_as_many_numbers_in_another_layout_before_any_gradient_is_exchanged()
    {
        // three ranks, 82 numbers each; rank 2 keeps lin1's weight as [2, 16] instead of [16, 2]
        var errors = Results(ThreadJob.Run(3, job => RefusedEpoch(job, rank => rank == 2 ? Transposed(3) : MethodFactory.Model(3))));
        string message = OneMessage(errors);
        Assert.Contains("rank 2 has parameter 'lin1.weight' float32[2, 16] where rank 0 has float32[16, 2]", message);
        Assert.DoesNotContain("rank 1", message);                          // only the rank that differs is named
        Assert.StartsWith("The ranks of the data-parallel job differ", message);
        Assert.Contains("no gradient or buffer was changed", message);
    }

    [Fact]
    public void TrainEpoch_refuses_ranks_with_training_splits_of_different_sizes_naming_the_ranks_and_the_sizes()
    {
        // 300 rows (7 steps of 48) on ranks 0 and 2, 200 rows (5 steps) on rank 1: without the check ranks 0 and 2 would wait for ever in step 6
        var errors = Results(ThreadJob.Run(3, job => RefusedEpoch(job, _ => MethodFactory.Model(3), trainSize: rank => rank == 1 ? 200 : 300)));
        string message = OneMessage(errors);
        Assert.Contains("rank 1 has a training split of 200 rows where rank 0 has a training split of 300 rows", message);
        Assert.Contains("over a split of 200 rows (DatasetSize) where rank 0 has the method", message);
        Assert.Contains("over a split of 300 rows (DatasetSize)", message);
        Assert.Contains("5 steps over an epoch order of 200 rows where rank 0 has 7 steps over an epoch order of 300 rows", message);
        Assert.DoesNotContain("rank 2", message);
        Assert.DoesNotContain("has parameter", message);                  // the models agree
    }

    [Fact]
    public void TrainEpoch_refuses_ranks_with_different_global_batches_naming_the_ranks_the_batches_and_the_steps()
    {
        var errors = Results(ThreadJob.Run(2, job => RefusedEpoch(job, _ => MethodFactory.Model(3), globalBatch: rank => rank == 1 ? 64 : 32, kind: "erm")));
        string message = OneMessage(errors);
        Assert.Contains("rank 1 has a global batch of 64 rows where rank 0 has a global batch of 32 rows", message);
        Assert.Contains("5 steps over an epoch order of 300 rows where rank 0 has 10 steps over an epoch order of 300 rows", message);
    }

    [Fact]
    public void TrainEpoch_refuses_a_rank_that_draws_another_epoch_order_when_nothing_else_differs()
    {
        // the same split, model and batch, but rank 1's method was built with another seed: its rows would be another part of another order
        var errors = Results(ThreadJob.Run(2, job =>
        {
            using var data = MethodFactory.Data();
            using var model = MethodFactory.Model(3);
            using var opt = torch.optim.SGD(model.parameters(), 0.1);
            using var method = MethodFactory.Make("erm", data, new SeedSource(job.Rank == 1 ? 6 : 5));
            var before = Snapshot(model);
            var error = Record.Exception(() => DataParallel.TrainEpoch(method, model, opt, data.Train, 1, 2, 32, job));
            AssertUnchanged(before, model);
            return error;
        }));
        string message = OneMessage(errors);
        Assert.Matches("rank 1 has an epoch order with fingerprint [0-9a-f]{16} where rank 0 has an epoch order with fingerprint [0-9a-f]{16} \\(another seed", message);
        Assert.DoesNotContain("steps", message);
    }

    /// <summary>A backward pass of the rank's own rows, then the average; returns what it threw, after checking that no gradient changed when it threw.</summary>
    private static Exception? RefusedAverage(ICollective job, nn.Module<Tensor, Tensor> model)
    {
        using var data = MethodFactory.Data();
        using var scope = torch.NewDisposeScope();
        using var batch = data.Train.GetBatch(Enumerable.Range(job.Rank * 16, 16).Select(i => (long)i).ToArray());
        nn.functional.cross_entropy(model.call(batch.Inputs), batch.Labels).backward();
        var before = Snapshot(model);
        var error = Record.Exception(() => GradientAveraging.AverageGradients(model, job, batch.Size));
        if (error is not null) AssertUnchanged(before, model);
        return error;
    }

    [Fact]
    public void AverageGradients_refuses_ranks_whose_models_differ_in_names_or_sizes_before_any_gradient_is_exchanged()
    {
        // the same shapes under other names (82 numbers on both ranks)
        var renamed = Results(ThreadJob.Run(2, job =>
        {
            using var model = job.Rank == 1 ? nn.Sequential(("first", nn.Linear(2, 16)), ("act", nn.ReLU()), ("fc", nn.Linear(16, 2))) : MethodFactory.Model(3);
            return RefusedAverage(job, model);
        }));
        Assert.Contains("rank 1 has parameter 'first.weight' float32[16, 2] where rank 0 has parameter 'lin1.weight' float32[16, 2]", OneMessage(renamed));
        // another hidden size (42 numbers against 82): without the check, buckets of other lengths (MPI's own error)
        var smaller = Results(ThreadJob.Run(2, job =>
        {
            using var model = job.Rank == 1 ? nn.Sequential(("lin1", nn.Linear(2, 8)), ("act", nn.ReLU()), ("fc", nn.Linear(8, 2))) : MethodFactory.Model(3);
            return RefusedAverage(job, model);
        }));
        string message = OneMessage(smaller);
        Assert.Contains("rank 1 has parameter 'lin1.weight' float32[8, 2] where rank 0 has float32[16, 2]", message);
        Assert.StartsWith("The ranks' models differ in layout", message);
    }

    [Fact]
    public void AverageGradients_after_the_first_check_catches_a_rank_that_froze_a_layer_alone_and_rechecks_a_layer_frozen_everywhere()
    {
        var results = Results(ThreadJob.Run(2, job =>
        {
            using var data = MethodFactory.Data();
            using var model = MethodFactory.Model(3);
            var fc = model.named_parameters().Single(np => np.name == "fc.weight").parameter;
            // a backward pass of this rank's rows, then the average: the averaged gradients, or what it threw (then nothing changed)
            (float[]? Grads, Exception? Error) Step(int step)
            {
                using var scope = torch.NewDisposeScope();
                foreach (var p in model.parameters()) p.grad = null;
                using var batch = data.Train.GetBatch(Enumerable.Range(step * 32 + job.Rank * 16, 16).Select(i => (long)i).ToArray());
                nn.functional.cross_entropy(model.call(batch.Inputs), batch.Labels).backward();
                var before = Snapshot(model);
                var error = Record.Exception(() => GradientAveraging.AverageGradients(model, job, batch.Size));
                if (error is not null)
                {
                    AssertUnchanged(before, model);
                    return (null, error);
                }
                return (model.parameters().Where(p => p.grad is not null).SelectMany(p => p.grad!.data<float>().ToArray()).ToArray(), null);
            }
            var first = Step(0).Grads!;                              // the first call checks the layout (one extra all-reduce)
            if (job.Rank == 1) fc.requires_grad = false;            // one rank alone: its bucket would be shorter
            var alone = Step(1).Error;
            if (job.Rank == 0) fc.requires_grad = false;            // now every rank: checked again, then averaged
            var (frozen, error) = Step(2);
            Assert.Null(error);
            return (First: first, Alone: alone, Frozen: frozen!, FrozenGrad: fc.grad is null);
        }));
        string message = OneMessage(results.Select(r => r.Alone).ToArray());
        Assert.Contains("rank 1 has parameter 'fc.weight' float32[2, 16] (frozen) where rank 0 has float32[2, 16]", message);
        Assert.Equal(results[0].First, results[1].First);           // the averaged gradients are the same on both ranks
        Assert.Equal(results[0].Frozen, results[1].Frozen);
        Assert.Equal(82 - 32, results[0].Frozen.Length);            // fc.weight's 32 numbers take no part
        Assert.All(results, r => Assert.True(r.FrozenGrad));
    }

    [Theory]
    [InlineData("erm")]
    [InlineData("jm1")]
    public void Two_ranks_with_the_same_layout_train_what_one_process_trains(string kind)
    {
        // the check passes on agreeing ranks, and the averaging still gives the one-process steps
        using var data = MethodFactory.Data();
        using var a = MethodFactory.Model(3);
        using var optA = torch.optim.SGD(a.parameters(), 0.1);
        using var plain = MethodFactory.Make(kind, data, new SeedSource(5));
        var expected = MethodFactory.Train(plain, a, optA, data.Train, 0, 2, 2)!;
        var replicas = Results(ThreadJob.Run(2, job =>
        {
            using var own = MethodFactory.Data();
            var b = MethodFactory.Model(3);
            using var optB = torch.optim.SGD(b.parameters(), 0.1);
            using var parallel = MethodFactory.Make(kind, own, new SeedSource(5));
            MethodEpochSummary? last = null;
            for (int epoch = 1; epoch <= 2; epoch++) last = DataParallel.TrainEpoch(parallel, b, optB, own.Train, epoch, 2, 32, job);
            return (Model: b, Samples: last!.Samples);
        }));
        try
        {
            Assert.Equal(expected.Samples, replicas.Sum(r => r.Samples));
            foreach (var ((name, p), (_, q)) in a.named_parameters().Zip(replicas[0].Model.named_parameters()))
                Assert.True(p.allclose(q, 1e-5, 1e-6), $"parameter {name} differs from the one-process run's");
            foreach (var ((name, p), (_, q)) in replicas[0].Model.named_parameters().Zip(replicas[1].Model.named_parameters()))
                Assert.True(p.data<float>().ToArray().AsSpan().SequenceEqual(q.data<float>().ToArray()), $"parameter {name} differs between the replicas");
        }
        finally
        {
            foreach (var r in replicas) r.Model.Dispose();
        }
    }
}
