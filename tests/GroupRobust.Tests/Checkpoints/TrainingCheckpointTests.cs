using GroupRobust.Checkpoints;
using GroupRobust.Data;
using GroupRobust.Evaluation;
using GroupRobust.Identification;
using GroupRobust.Methods;
using GroupRobust.Mixing;
using GroupRobust.Randomness;
using GroupRobust.Tests.TestSupport;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace GroupRobust.Tests.Checkpoints;

public class TrainingCheckpointTests
{
    [Fact]
    public void Resuming_from_a_checkpoint_reproduces_the_uninterrupted_run_exactly()
    {
        // JM1 at a random layer: every stateful piece (order, partners, alpha, layer choice, mixer statistics) is involved;
        // every other method is covered by Methods/MethodContractTests.
        using var data = SyntheticGaussianDataset.Create(new SyntheticGaussianOptions { TrainSize = 600, SpuriousScale = 3, Seed = 4 });
        var groups = new OracleIdentifier().Identify(data.Train);
        using var dir = new TempDirectory();
        var options = new MixingOptions { Layer = MixingLayer.Random("input", "act", "output") };

        using var whole = Model(1);
        using (var method = MixingMethod.Jm1(data.Train, groups, new SeedSource(2), options))
        using (var opt = torch.optim.Adam(whole.parameters(), 0.01))
            Train(method, whole, opt, data, 0, 4);

        using (var first = Model(1))
        using (var method = MixingMethod.Jm1(data.Train, groups, new SeedSource(2), options))
        using (var opt = torch.optim.Adam(first.parameters(), 0.01))
        {
            Train(method, first, opt, data, 0, 2);
            groups.Save(dir.File("groups.csv"));
            TrainingCheckpoint.Save(dir.File("ckpt.bin"), first, opt, new CheckpointState
            {
                Epoch = 2, Method = method.GetState(), Metadata = new Dictionary<string, string> { ["groups"] = "groups.csv" },
            });
        }

        using var resumed = Model(99); // another initialisation and seed: everything must come from the checkpoint
        using (var opt = torch.optim.Adam(resumed.parameters(), 0.01))
        {
            var state = TrainingCheckpoint.Load(dir.File("ckpt.bin"), resumed, opt);
            var restoredGroups = GroupAssignment.Load(dir.File(state.Metadata["groups"]), data.Train);
            using var method = MixingMethod.Jm1(data.Train, restoredGroups, new SeedSource(12345), options);
            method.SetState(state.Method!);
            Train(method, resumed, opt, data, state.Epoch, 4);
        }

        foreach (var ((name, a), (_, b)) in whole.named_parameters().Zip(resumed.named_parameters()))
            Assert.True(a.allclose(b, 0, 0), $"parameter {name} differs");
        using var evaluator = new WorstGroupEvaluator(data.Scheme);
        Assert.Equal(evaluator.Evaluate(whole, data.Test).ToJson(), evaluator.Evaluate(resumed, data.Test).ToJson());
        Assert.Empty(Directory.GetFiles(dir.Path, ".*tmp*"));
    }

    private static nn.Module<Tensor, Tensor> Model(int seed) => Methods.MethodFactory.Model(seed);

    private static void Train(MixingMethod method, nn.Module<Tensor, Tensor> model, OptimizerHelper opt, DatasetSplits data, int from, int to)
    {
        for (int epoch = from; epoch < to; epoch++)
        {
            foreach (var batch in data.Train.Batches(method.BeginEpoch(epoch, 4), 50))
            {
                using var scope = NewDisposeScope();
                opt.zero_grad();
                method.Loss(model, batch).backward();
                opt.step();
            }
            method.EndEpoch();
        }
    }

    [Fact]
    public void Corrupted_and_truncated_checkpoints_are_rejected()
    {
        using var dir = new TempDirectory();
        using var model = Model(0);
        using var optimizer = torch.optim.Adam(model.parameters(), 0.01);
        var run = (Model: model, Optimizer: optimizer);
        TrainingCheckpoint.Save(dir.File("c.bin"), run.Model, run.Optimizer, new CheckpointState { Epoch = 1 });
        TrainingCheckpoint.Save(dir.File("c.bin"), run.Model, run.Optimizer, new CheckpointState { Epoch = 3 }); // overwrite
        Assert.Equal(3, TrainingCheckpoint.Load(dir.File("c.bin"), run.Model, run.Optimizer).Epoch);
        var bytes = File.ReadAllBytes(dir.File("c.bin"));
        File.WriteAllBytes(dir.File("t.bin"), bytes[..(bytes.Length / 2)]);
        var ex = Assert.Throws<FormatException>(() => TrainingCheckpoint.Load(dir.File("t.bin"), run.Model, run.Optimizer));
        Assert.Contains("t.bin", ex.Message);
        File.WriteAllText(dir.File("x.bin"), "hello world, not a checkpoint");
        Assert.Contains("not a GroupRobust checkpoint", Assert.Throws<FormatException>(() => TrainingCheckpoint.Load(dir.File("x.bin"), run.Model, null)).Message);
    }
}
