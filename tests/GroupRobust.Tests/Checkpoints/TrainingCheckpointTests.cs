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
        var options = new Jm1Options { Layer = MixingLayer.Random("input", "act", "output") };

        using var whole = Model(1);
        using (var method = Jm1Method.Jm1(data.Train, groups, new SeedSource(2), options))
        using (var opt = torch.optim.Adam(whole.parameters(), 0.01))
            Train(method, whole, opt, data, 0, 4);

        using (var first = Model(1))
        using (var method = Jm1Method.Jm1(data.Train, groups, new SeedSource(2), options))
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
            using var method = Jm1Method.Jm1(data.Train, restoredGroups, new SeedSource(12345), options);
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

    private static void Train(Jm1Method method, nn.Module<Tensor, Tensor> model, OptimizerHelper opt, DatasetSplits data, int from, int to)
    {
        for (int epoch = from; epoch < to; epoch++)
        {
            foreach (var batch in data.Train.Batches(method.BeginEpoch(epoch + 1, 4), 50))
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

    private static Dictionary<string, float[]> Values(nn.Module model)
        => model.state_dict().ToDictionary(kv => kv.Key, kv => kv.Value.to(ScalarType.Float32).data<float>().ToArray());

    private static void AssertUnchanged(Dictionary<string, float[]> before, nn.Module model)
    {
        var after = Values(model);
        foreach (var (name, v) in before) Assert.Equal(v, after[name]);
    }

    [Fact]
    public void A_checkpoint_that_does_not_fit_changes_nothing()
    {
        using var dir = new TempDirectory();
        using var source = Model(3);
        using var sourceOpt = torch.optim.SGD(source.parameters(), 0.1, momentum: 0.9);
        TrainingCheckpoint.Save(dir.File("sgd.bin"), source, sourceOpt, new CheckpointState { Epoch = 1 });
        TrainingCheckpoint.Save(dir.File("no-opt.bin"), source, null, new CheckpointState { Epoch = 1 });
        var otherHead = nn.Sequential(("lin1", nn.Linear(2, 16)), ("act", nn.ReLU()), ("fc", nn.Linear(16, 3)));
        TrainingCheckpoint.Save(dir.File("head.bin"), otherHead, null, new CheckpointState { Epoch = 1 });

        using var target = Model(5);
        using var adam = torch.optim.Adam(target.parameters(), 0.01);
        var before = Values(target);
        var e1 = Assert.Throws<FormatException>(() => TrainingCheckpoint.Load(dir.File("head.bin"), target, null));
        Assert.Contains("head.bin", e1.Message);
        Assert.Contains("model section does not fit", e1.Message);
        AssertUnchanged(before, target);
        var e2 = Assert.Throws<FormatException>(() => TrainingCheckpoint.Load(dir.File("no-opt.bin"), target, adam));
        Assert.Contains("no optimizer state", e2.Message);
        AssertUnchanged(before, target);
        var e3 = Assert.Throws<FormatException>(() => TrainingCheckpoint.Load(dir.File("sgd.bin"), target, adam));
        Assert.Contains("optimizer section does not fit", e3.Message);
        AssertUnchanged(before, target);

        // a method state of another method: the model and optimizer are put back too
        using var data = Methods.MethodFactory.Data(64);
        using var erm = Methods.MethodFactory.Make("erm", data, new SeedSource(0));
        using var jm1 = Methods.MethodFactory.Make("jm1", data, new SeedSource(0));
        using var fitting = Model(7);
        using var fittingOpt = torch.optim.Adam(fitting.parameters(), 0.01);
        TrainingCheckpoint.Save(dir.File("erm.bin"), fitting, fittingOpt, new CheckpointState { Epoch = 1, Method = erm.GetState() });
        var e4 = Assert.Throws<FormatException>(() => TrainingCheckpoint.Load(dir.File("erm.bin"), target, adam, jm1));
        Assert.Contains("state (method) section does not fit", e4.Message);
        AssertUnchanged(before, target);
        Assert.Equal(1, TrainingCheckpoint.Load(dir.File("erm.bin"), target, adam, erm).Epoch); // and the right one loads
    }

    [Fact]
    public void A_flipped_bit_is_caught_by_the_section_checksum()
    {
        using var dir = new TempDirectory();
        using var model = Model(1);
        TrainingCheckpoint.Save(dir.File("c.bin"), model, null, new CheckpointState { Epoch = 2 });
        var bytes = File.ReadAllBytes(dir.File("c.bin"));
        bytes[^100] ^= 0x10; // the optimizer section (name, length, hash, no bytes) is the last 50 bytes: this is a model weight
        File.WriteAllBytes(dir.File("c.bin"), bytes);
        using var target = Model(2);
        var before = Values(target);
        var ex = Assert.Throws<FormatException>(() => TrainingCheckpoint.Load(dir.File("c.bin"), target, null));
        Assert.Contains("c.bin", ex.Message);
        Assert.Contains("model section fails its checksum", ex.Message);
        AssertUnchanged(before, target);
    }

    [Fact]
    public void A_model_with_a_disposed_parameter_is_refused_and_the_previous_file_survives()
    {
        using var dir = new TempDirectory();
        using var model = Model(1);
        TrainingCheckpoint.Save(dir.File("c.bin"), model, null, new CheckpointState { Epoch = 1 });
        var good = File.ReadAllBytes(dir.File("c.bin"));
        using var broken = Model(2);
        broken.named_parameters().First(p => p.name == "fc.bias").parameter.Dispose();
        var ex = Assert.Throws<InvalidOperationException>(() => TrainingCheckpoint.Save(dir.File("c.bin"), broken, null, new CheckpointState { Epoch = 9 }));
        Assert.Contains("'fc.bias'", ex.Message);
        Assert.Equal(good, File.ReadAllBytes(dir.File("c.bin")));
        Assert.Empty(Directory.GetFiles(dir.Path, ".*tmp*"));
    }

    [Fact]
    public void Temporary_files_left_by_a_killed_writer_are_removed_by_the_next_save()
    {
        using var dir = new TempDirectory();
        using var model = Model(1);
        int deadPid;
        using (var p = System.Diagnostics.Process.Start(new System.Diagnostics.ProcessStartInfo("true") { UseShellExecute = false })!)
        {
            p.WaitForExit();
            deadPid = p.Id;
        }
        // what kill -9 mid-write leaves behind: temporary files named after the target and the dead process
        for (int i = 0; i < 5; i++) File.WriteAllBytes(dir.File($".c.bin.tmp-{deadPid}-{Guid.NewGuid():N}"), new byte[1000]);
        File.WriteAllBytes(dir.File($".other.bin.tmp-{deadPid}-{Guid.NewGuid():N}"), new byte[10]); // another target's: left alone
        TrainingCheckpoint.Save(dir.File("c.bin"), model, null, new CheckpointState { Epoch = 1 });
        var left = Directory.GetFiles(dir.Path, ".*tmp*").Select(Path.GetFileName).ToArray();
        Assert.Single(left);
        Assert.StartsWith(".other.bin.tmp-", left[0]);
        Assert.Equal(1, TrainingCheckpoint.Load(dir.File("c.bin"), model, null).Epoch);
    }

    [Fact]
    public void Bytes_after_the_last_section_are_refused()
    {
        using var dir = new TempDirectory();
        using var model = Model(1);
        TrainingCheckpoint.Save(dir.File("c.bin"), model, null, new CheckpointState { Epoch = 2 });
        File.AppendAllText(dir.File("c.bin"), "appended");
        using var target = Model(2);
        var before = Values(target);
        var ex = Assert.Throws<FormatException>(() => TrainingCheckpoint.Load(dir.File("c.bin"), target, null));
        Assert.Contains("c.bin", ex.Message);
        Assert.Contains("8 bytes follow the last section", ex.Message);
        AssertUnchanged(before, target);
        Assert.Throws<FormatException>(() => TrainingCheckpoint.ReadState(dir.File("c.bin")));
    }

    [Theory]
    [InlineData("GRCKPT9\n")]   // an unknown version
    [InlineData("grckpt2\n")]   // another case
    [InlineData("GRCKPT2\r")]   // another line ending
    [InlineData("GRCKPT1\n")]   // a version-2 file relabelled as version 1 (no section names, no checksums)
    public void A_wrong_magic_line_is_refused_and_changes_nothing(string tag)
    {
        using var dir = new TempDirectory();
        using var model = Model(1);
        TrainingCheckpoint.Save(dir.File("c.bin"), model, null, new CheckpointState { Epoch = 2 });
        var bytes = File.ReadAllBytes(dir.File("c.bin"));
        System.Text.Encoding.ASCII.GetBytes(tag).CopyTo(bytes, 0);
        File.WriteAllBytes(dir.File("c.bin"), bytes);
        using var target = Model(2);
        var before = Values(target);
        var ex = Assert.Throws<FormatException>(() => TrainingCheckpoint.Load(dir.File("c.bin"), target, null));
        Assert.Contains("c.bin", ex.Message);
        if (tag != "GRCKPT1\n") Assert.Contains("not a GroupRobust checkpoint (bad header)", ex.Message);
        AssertUnchanged(before, target);
    }

    [Fact]
    public void A_negative_epoch_or_a_null_generator_state_is_refused_on_save_and_on_load()
    {
        using var dir = new TempDirectory();
        using var model = Model(1);
        TrainingCheckpoint.Save(dir.File("c.bin"), model, null, new CheckpointState { Epoch = 2 });
        var good = File.ReadAllBytes(dir.File("c.bin"));
        var ex = Assert.Throws<ArgumentOutOfRangeException>(() => TrainingCheckpoint.Save(dir.File("c.bin"), model, null, new CheckpointState { Epoch = -1 }));
        Assert.Equal("state", ex.ParamName);
        Assert.Contains("Epoch is -1", ex.Message);
        var nullState = new CheckpointState { Epoch = 1, RandomStates = new Dictionary<string, ulong[]> { ["loader"] = null! } };
        Assert.Contains("RandomStates['loader'] is null", Assert.Throws<ArgumentException>(() => TrainingCheckpoint.Save(dir.File("c.bin"), model, null, nullState)).Message);
        Assert.Equal(good, File.ReadAllBytes(dir.File("c.bin")));   // nothing was written

        // a file whose state says epoch -1 (written by hand, with valid checksums) does not load either
        WriteWithState(dir.File("n.bin"), good, """{"Epoch":-1}""");
        using var target = Model(2);
        var before = Values(target);
        var load = Assert.Throws<FormatException>(() => TrainingCheckpoint.Load(dir.File("n.bin"), target, null));
        Assert.Contains("n.bin", load.Message);
        Assert.Contains("Epoch is -1", load.Message);
        AssertUnchanged(before, target);
    }

    /// <summary>Rewrites <paramref name="checkpoint"/>'s state section (GRCKPT2: name, length, SHA-256, bytes) with <paramref name="json"/>.</summary>
    private static void WriteWithState(string path, byte[] checkpoint, string json)
    {
        using var input = new BinaryReader(new MemoryStream(checkpoint));
        var tag = input.ReadBytes(8);
        Assert.Equal("GRCKPT2\n", System.Text.Encoding.ASCII.GetString(tag));
        using var output = new BinaryWriter(File.Create(path));
        output.Write(tag);
        for (int section = 0; section < 3; section++)
        {
            var name = input.ReadString();
            long length = input.ReadInt64();
            input.ReadBytes(32);
            var bytes = input.ReadBytes((int)length);
            if (name == "state") bytes = System.Text.Encoding.UTF8.GetBytes(json);
            output.Write(name);
            output.Write((long)bytes.Length);
            output.Write(System.Security.Cryptography.SHA256.HashData(bytes));
            output.Write(bytes);
        }
    }
}
