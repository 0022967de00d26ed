using System.Diagnostics;
using GroupRobust.Data;
using GroupRobust.Groups;
using GroupRobust.Identification;
using GroupRobust.Tests.TestSupport;
using TorchSharp;
using Xunit.Abstractions;
using static TorchSharp.torch;

namespace GroupRobust.Tests.Identification;

[Collection(LeakCollection.Name)]
public class IdentificationLeakTests(ITestOutputHelper output)
{
    [Fact]
    public void Identification_pass_and_recorder_leak_nothing()
    {
        using var splits = SyntheticGaussianDataset.Create(new SyntheticGaussianOptions { TrainSize = 256 });
        using var model = nn.Linear(2, 2);
        var identifier = new MisclassificationIdentifier(model, new IdentificationOptions { BatchSize = 32 });
        LeakCheck.AssertFlat(() => identifier.Identify(splits.Train), warmup: 2, steps: 20);
        var loss = new LossMagnitudeIdentifier(model, 0.2);
        LeakCheck.AssertFlat(() => loss.Identify(splits.Train), warmup: 2, steps: 20);
        using var recorder = new ErrorSetRecorder(splits.Train);
        using var logits = torch.randn(32, 2);
        using var labels = torch.zeros(32, ScalarType.Int64);
        var idx = Enumerable.Range(0, 32).Select(i => (long)i).ToArray();
        LeakCheck.AssertFlat(() => recorder.Record(1, idx, labels, logits), warmup: 5, steps: 500);
    }

    [Fact]
    public void Eiil_environment_inference_leaks_nothing()
    {
        using var splits = SyntheticGaussianDataset.Create(new SyntheticGaussianOptions { TrainSize = 256, SpuriousScale = 3 });
        using var model = Methods.MethodFactory.Model(0);
        var eiil = new EiilIdentifier(model, new GroupRobust.Randomness.SeedSource(0), new EiilOptions { Steps = 50, LearningRate = 0.05, Pass = new IdentificationOptions { BatchSize = 64 } });
        LeakCheck.AssertFlat(() => eiil.Identify(splits.Train), warmup: 2, steps: 20);
    }

    [Fact]
    public void Every_identifier_and_the_assignments_tensors_a_thousand_times_leak_nothing()
    {
        using var splits = SyntheticGaussianDataset.Create(new SyntheticGaussianOptions { TrainSize = 64, SpuriousScale = 3 });
        var train = splits.Train;
        using var model = Methods.MethodFactory.Model(0);
        var misclassification = new MisclassificationIdentifier(model, new IdentificationOptions { BatchSize = 32 });
        LeakCheck.AssertFlat(() => misclassification.Identify(train), warmup: 5, steps: 1000);
        var loss = new LossMagnitudeIdentifier(model, 0.2);
        LeakCheck.AssertFlat(() => loss.Identify(train), warmup: 5, steps: 1000);
        var spare = new SpareIdentifier(model, new GroupRobust.Randomness.SeedSource(0), new SpareOptions { Restarts = 1, Pass = new IdentificationOptions { BatchSize = 32 } });
        LeakCheck.AssertFlat(() => spare.Identify(train), warmup: 5, steps: 200);
        var george = new GeorgeIdentifier(model, new GroupRobust.Randomness.SeedSource(0), new GeorgeOptions { Restarts = 1, MaxClusters = 3, Pass = new IdentificationOptions { BatchSize = 32 } });
        LeakCheck.AssertFlat(() => george.Identify(train), warmup: 5, steps: 200);
        var biased = new BiasedModelIdentifier(() => Methods.MethodFactory.Model(1), p => torch.optim.SGD(p, 0.1), new GroupRobust.Randomness.SeedSource(0), new BiasedModelOptions { BatchSize = 32 }, new ListLogger());   // with its epoch loss logged
        LeakCheck.AssertFlat(() => biased.Identify(train), warmup: 5, steps: 200);
        var bam = new BamIdentifier(() => Methods.MethodFactory.Model(1), p => torch.optim.SGD(p, 0.1), new GroupRobust.Randomness.SeedSource(0), new BamOptions { BatchSize = 32, Epochs = 1 }, new ListLogger());
        LeakCheck.AssertFlat(() => bam.Identify(train), warmup: 5, steps: 200);
        var ssa = new SsaIdentifier(() => Methods.MethodFactory.Model(1), p => torch.optim.SGD(p, 0.1), splits.Validation, new GroupRobust.Randomness.SeedSource(0),
            new SsaOptions { Splits = 2, Steps = 4, BatchSize = 16, EvaluateEvery = 2 }, new ListLogger());   // snapshots, restores and labels every call
        LeakCheck.AssertFlat(() => ssa.Identify(train), warmup: 5, steps: 200);
        var oracle = new OracleIdentifier();
        LeakCheck.AssertFlat(() => oracle.Identify(train), warmup: 5, steps: 1000);
        var eiil = new EiilIdentifier(model, new GroupRobust.Randomness.SeedSource(0), new EiilOptions { Steps = 5, Pass = new IdentificationOptions { BatchSize = 32 } });
        LeakCheck.AssertFlat(() => eiil.Identify(train), warmup: 5, steps: 1000);

        var groups = GroupAssignment.FromTrueGroups(train);
        long[] some = [0, 5, 9, 63];
        LeakCheck.AssertFlat(() => groups.GroupTensor(some, torch.CPU).Dispose(), warmup: 5, steps: 1000);

        // the recorder: record, read back and forget an epoch, over and over
        using var recorder = new ErrorSetRecorder(train);
        using var logits = torch.randn(32, 2);
        using var labels = torch.zeros(32, ScalarType.Int64);
        var idx = Enumerable.Range(0, 32).Select(i => (long)i).ToArray();
        LeakCheck.AssertFlat(() =>
        {
            recorder.Record(1, idx, labels, logits);
            recorder.ErrorSetAt(1);
            recorder.Forget(1);
        }, warmup: 5, steps: 1000);
    }

    [Fact]
    public void A_million_samples_stream_through_identification()
    {
        const int n = 1_000_000;
        using var scope = NewDisposeScope();
        torch.random.manual_seed(0);
        var y = torch.randint(0, 2, [n], dtype: ScalarType.Int64);
        var x = torch.randn(n, 4).add(y.unsqueeze(1).to(ScalarType.Float32));
        using var ds = new TensorGroupDataset(x, y, GroupScheme.Binary());
        using var model = nn.Linear(4, 2);
        var sw = Stopwatch.StartNew();
        long before = GC.GetTotalMemory(false);
        var p = new MisclassificationIdentifier(model, new IdentificationOptions { BatchSize = 8192 }).Identify(ds);
        sw.Stop();
        Assert.Equal(n, p.Count);
        Assert.Equal(n, p.MinorityCount + (p.Count - p.MinorityCount));
        output.WriteLine($"1M-sample identification: {sw.Elapsed.TotalSeconds:F2} s, |E| = {p.MinorityCount}, managed delta {(GC.GetTotalMemory(false) - before) / 1e6:F1} MB, peak tensors {torch.Tensor.PeakCount}");
    }
}
