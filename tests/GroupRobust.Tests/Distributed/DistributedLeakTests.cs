using GroupRobust.Checkpoints;
using GroupRobust.Data;
using GroupRobust.Distributed;
using GroupRobust.Evaluation;
using GroupRobust.Identification;
using GroupRobust.Methods;
using GroupRobust.Randomness;
using GroupRobust.Tests.Methods;
using GroupRobust.Tests.TestSupport;
using TorchSharp;

namespace GroupRobust.Tests.Distributed;

/// <summary>
/// A stand-in for a job in one process: rank 0 of <see cref="Size"/> ranks that all hold the same values, so a sum over
/// the job is Size times the local values (exact for Size = 1). The MPI tests check the numbers; these check that the
/// distributed helpers leak no native tensor and that, in a job of one, they give the one-process results.
/// </summary>
internal sealed class LoopbackCollective(int size) : ICollective
{
    public int Rank => 0;
    public int Size => size;
    public void AllReduceSum(Span<float> values) { foreach (ref var v in values) v *= size; }
    public void AllReduceSum(Span<double> values) { foreach (ref var v in values) v *= size; }
    public void AllReduceSum(Span<long> values) { foreach (ref var v in values) v *= size; }
    public void Broadcast(Span<float> values, int root = 0) { }
    public void Barrier() { }
    public void Dispose() { }
}

[Collection(LeakCollection.Name)]
public class DistributedLeakTests
{
    [Fact]
    public void Data_parallel_steps_with_gradient_averaging_and_groupdro_statistics_leave_the_live_tensor_count_flat()
    {
        using var data = MethodFactory.Data(96);
        var job = new LoopbackCollective(2);
        using var method = (GroupDroMethod)MethodFactory.Make("groupdro", data, new SeedSource(0));
        DistributedGroupDro.Attach(method.RobustLoss, job);
        using var model = MethodFactory.Model(0);
        using var opt = torch.optim.SGD(model.parameters(), 0.05);
        int epoch = 0;
        LeakCheck.AssertFlat(() =>
        {
            foreach (var part in EpochSharding.Shards(method.BeginEpoch(epoch % 8 + 1, 8), 32, job))
            {
                using var scope = torch.NewDisposeScope();
                using var batch = data.Train.GetBatch(part);
                opt.zero_grad();
                method.PartLoss(model, batch, part).backward();
                GradientAveraging.AverageGradients(model, job, batch.Size);
                opt.step();
            }
            method.EndEpoch();
            epoch++;
        }, warmup: 2, steps: 6);
    }

    [Fact]
    public void Sharded_evaluation_identification_checks_and_checkpoints_leave_the_live_tensor_count_flat()
    {
        using var data = MethodFactory.Data(96);
        using var job = new LoopbackCollective(1);
        using var model = MethodFactory.Model(0);
        using var opt = torch.optim.Adam(model.parameters(), 0.01);
        using var method = MethodFactory.Make("jm1", data, new SeedSource(0));
        using var evaluator = new WorstGroupEvaluator(data.Validation.Scheme);
        using var dir = new TempDirectory();
        var steps = new (string Name, Action Step)[]
        {
            ("evaluation", () => DistributedEvaluation.Evaluate(evaluator, model, data.Validation, job, batchSize: 16)),
            ("identification", () => DistributedIdentification.Identify(new MisclassificationIdentifier(model), data.Train, job)),
            ("replica check", () => ReplicaCheck.Verify(model, job, method)),
            ("checkpoint", () =>
            {
                DistributedCheckpoint.Save(job, dir.File("c.ckpt"), model, opt, new CheckpointState { Epoch = 0, Method = method.GetState() }, method);
                DistributedCheckpoint.Load(job, dir.File("c.ckpt"), model, opt, method);
            }),
        };
        foreach (var (name, step) in steps)
        {
            try
            {
                LeakCheck.AssertFlat(step, warmup: 2, steps: 6);
            }
            catch (Exception ex) when (ex is not OutOfMemoryException)
            {
                throw new Xunit.Sdk.XunitException($"{name}: {ex.Message}");
            }
        }
    }

    [Fact]
    public void In_a_job_of_one_the_sharded_results_are_the_one_process_results()
    {
        using var data = MethodFactory.Data(150);
        using var job = new LoopbackCollective(1);
        using var model = MethodFactory.Model(4);
        using var evaluator = new WorstGroupEvaluator(data.Validation.Scheme, new EvaluatorOptions { BootstrapSamples = 100 });
        Assert.Equal(evaluator.Evaluate(model, data.Validation, batchSize: 7).ToJson(), DistributedEvaluation.Evaluate(evaluator, model, data.Validation, job, batchSize: 7).ToJson());
        var identifier = new LossMagnitudeIdentifier(model, 0.25);
        Assert.Equal(identifier.Identify(data.Train).Groups.ToArray(), DistributedIdentification.Identify(identifier, data.Train, job).Groups.ToArray());
        // what cannot be split says so
        var xrm = new XrmIdentifier(() => MethodFactory.Model(1), p => torch.optim.SGD(p, 0.1), new SeedSource(0));
        var ex = Assert.Throws<NotSupportedException>(() => DistributedIdentification.Identify(xrm, data.Train, job));
        Assert.Contains("XrmIdentifier cannot split its work", ex.Message);
        using var probabilistic = new WorstGroupEvaluator(data.Validation.Scheme, new EvaluatorOptions { BootstrapSamples = 0, ProbabilityMetrics = true });
        var refused = Assert.Throws<NotSupportedException>(() => DistributedEvaluation.Evaluate(probabilistic, model, data.Validation, job, batchSize: 7));
        Assert.Contains("one process", refused.Message);
    }
}
