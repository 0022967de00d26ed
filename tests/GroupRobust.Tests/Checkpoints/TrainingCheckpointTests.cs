using GroupRobust.Checkpoints;
using GroupRobust.Data;
using GroupRobust.Evaluation;
using GroupRobust.Identification;
using GroupRobust.Losses;
using GroupRobust.Mixing;
using GroupRobust.Randomness;
using GroupRobust.Tests.TestSupport;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace GroupRobust.Tests.Checkpoints;

public class TrainingCheckpointTests
{
    private sealed class Run : IDisposable
    {
        public required nn.Module<Tensor, Tensor> Model;
        public required OptimizerHelper Optimizer;
        public required ReproducibleRandom Rng;
        public required GroupDroLoss Dro;

        public void Dispose()
        {
            Model.Dispose();
            Dro.Dispose();
        }
    }

    private static Run NewRun(int initSeed, long rngSeed)
    {
        torch.random.manual_seed(initSeed);
        var model = nn.Sequential(("lin1", nn.Linear(2, 16)), ("act", nn.ReLU()), ("fc", nn.Linear(16, 2)));
        return new Run
        {
            Model = model,
            Optimizer = torch.optim.Adam(model.parameters(), 0.01),
            Rng = new ReproducibleRandom(rngSeed),
            Dro = new GroupDroLoss([475, 25, 25, 475], new GroupDroOptions { StepSize = 0.1 }),
        };
    }

    /// <summary>JM1 at a random layer with the GroupDRO loss: every stateful piece is involved.</summary>
    private static void Train(Run run, DatasetSplits data, Partition partition, int from, int to)
    {
        var mixer = new ClassConditionalMixer(partition, run.Rng);
        var hidden = new HiddenLayerMixer(run.Model, ["input", "act", "output"], run.Rng);
        var sampler = new ShuffleSampler(data.Train.Count, seed: 7);
        var schedule = AlphaSchedule.UniformThenBeta();
        for (int epoch = from; epoch < to; epoch++)
        {
            foreach (var batch in data.Train.Batches(sampler.IndicesForEpoch(epoch), 50))
            {
                using var scope = NewDisposeScope();
                var plan = mixer.DrawPartners(batch);
                var partners = data.Train.GetBatch(plan);
                var c = mixer.Coefficients(plan, schedule.Sample(epoch, 4, run.Rng), batch.Inputs);
                var logits = hidden.Forward(batch.Inputs, partners.Inputs, c);
                run.Optimizer.zero_grad();
                run.Dro.Forward(nn.functional.cross_entropy(logits, batch.Labels, reduction: nn.Reduction.None), batch.Groups!).backward();
                run.Optimizer.step();
            }
        }
    }

    [Fact]
    public void Resuming_from_a_checkpoint_reproduces_the_uninterrupted_run_exactly()
    {
        using var data = SyntheticGaussianDataset.Create(new SyntheticGaussianOptions { TrainSize = 1000, SpuriousScale = 3, Seed = 4 });
        var partition = new OracleIdentifier().Identify(data.Train);
        using var dir = new TempDirectory();

        using var whole = NewRun(1, 2);
        Train(whole, data, partition, 0, 4);

        using (var first = NewRun(1, 2))
        {
            Train(first, data, partition, 0, 2);
            partition.Save(dir.File("partition.csv"));
            TrainingCheckpoint.Save(dir.File("ckpt.bin"), first.Model, first.Optimizer, new CheckpointState
            {
                Epoch = 2,
                RandomStates = new Dictionary<string, ulong[]> { ["mixing"] = first.Rng.GetState() },
                GroupDro = first.Dro.GetState(),
                Metadata = new Dictionary<string, string> { ["partition"] = "partition.csv" },
            });
        }

        using var resumed = NewRun(99, 12345); // different initialisation and generator: everything must come from the checkpoint
        var state = TrainingCheckpoint.Load(dir.File("ckpt.bin"), resumed.Model, resumed.Optimizer);
        resumed.Rng.SetState(state.RandomStates["mixing"]);
        resumed.Dro.SetState(state.GroupDro!);
        var restoredPartition = Partition.Load(dir.File(state.Metadata["partition"]), data.Train);
        Train(resumed, data, restoredPartition, state.Epoch, 4);

        foreach (var ((name, a), (_, b)) in whole.Model.named_parameters().Zip(resumed.Model.named_parameters()))
            Assert.True(a.allclose(b, 0, 0), $"parameter {name} differs");
        using var evaluator = new WorstGroupEvaluator(data.Scheme);
        Assert.Equal(evaluator.Evaluate(whole.Model, data.Test).ToJson(), evaluator.Evaluate(resumed.Model, data.Test).ToJson());
        Assert.Equal(whole.Dro.Snapshot().Q, resumed.Dro.Snapshot().Q);
        Assert.Empty(Directory.GetFiles(dir.Path, ".*tmp*"));
    }

    [Fact]
    public void Corrupted_and_truncated_checkpoints_are_rejected()
    {
        using var dir = new TempDirectory();
        using var run = NewRun(0, 0);
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
