using GroupRobust.Evaluation;
using GroupRobust.Identification;
using GroupRobust.Methods;
using GroupRobust.Tests.TestSupport;
using TorchSharp;
using static TorchSharp.torch;

namespace GroupRobust.Tests.Evaluation;

public class EvaluatorSafetyTests
{
    private static nn.Module<Tensor, Tensor> WithFrozenNorm(out nn.Module norm)
    {
        var bn = nn.BatchNorm1d(4);
        norm = bn;
        var model = nn.Sequential(("lin1", nn.Linear(3, 4)), ("bn", bn), ("fc", nn.Linear(4, 2)));
        model.train();
        bn.eval(); // the user keeps this layer frozen inside a training model
        return model;
    }

    [Fact]
    public void Evaluation_and_identification_restore_every_submodules_training_flag()
    {
        using var ds = Tiny.Dataset([0, 1, 0, 1, 0, 1], [0, 1, 1, 0, 0, 1]);
        using var model = WithFrozenNorm(out var norm);
        using var evaluator = new WorstGroupEvaluator(ds.Scheme);
        evaluator.Evaluate(model, ds);
        Assert.True(model.training);
        Assert.False(norm.training);
        Assert.True(model.named_modules().First(m => m.name == "lin1").module.training);
        new MisclassificationIdentifier(model).Identify(ds);
        new LossMagnitudeIdentifier(model, 0.5).Identify(ds);
        Assert.True(model.training);
        Assert.False(norm.training);
        model.eval();
        evaluator.Evaluate(model, ds);
        Assert.False(model.training);
    }

    /// <summary>A model whose forward lets another thread use the evaluator while an evaluation is in progress.</summary>
    private sealed class Intruder(WorstGroupEvaluator evaluator) : nn.Module<Tensor, Tensor>("intruder")
    {
        public Exception? Seen { get; private set; }

        public override Tensor forward(Tensor x)
        {
            var t = new Thread(() =>
            {
                try
                {
                    using var scope = NewDisposeScope();
                    evaluator.Add(torch.zeros(1, 2), torch.zeros(1, ScalarType.Int64), null);
                }
                catch (Exception ex)
                {
                    Seen = ex;
                }
            });
            t.Start();
            t.Join();
            return torch.zeros(x.shape[0], 2);
        }
    }

    [Fact]
    public void Use_from_a_second_thread_during_a_call_is_detected_not_lost()
    {
        using var ds = Tiny.Dataset([0, 1, 0, 1], [0, 1, 1, 0]);
        using var evaluator = new WorstGroupEvaluator(ds.Scheme);
        using var intruder = new Intruder(evaluator);
        var result = evaluator.Evaluate(intruder, ds);
        Assert.IsType<InvalidOperationException>(intruder.Seen);
        Assert.Contains("two threads at once", intruder.Seen!.Message);
        Assert.Equal(4, result.Count); // the evaluation itself is intact
    }

    [Fact]
    public void GroupDro_the_recorder_and_the_methods_detect_a_second_thread_too()
    {
        using var ds = Tiny.Dataset([0, 1, 0, 1], [0, 1, 1, 0]);
        using var dro = new GroupDroLoss([1, 1, 1, 1]);
        using var recorder = new ErrorSetRecorder(ds);
        using var method = new GroupRobust.Methods.GroupDroMethod(GroupRobust.Identification.GroupAssignment.FromTrueGroups(ds), new GroupRobust.Randomness.SeedSource(0));
        var cases = new (object Owner, Action Intrude)[]
        {
            (dro, () => dro.Forward(torch.ones(2), Tiny.Longs(0, 1))),
            (recorder, () => recorder.Record(1, [0L], torch.zeros(1, ScalarType.Int64), torch.zeros(1, 2))),
            (method, () => method.BeginEpoch(1, 1)),
        };
        foreach (var (owner, intrude) in cases)
        {
            var seen = ThreadIntrusion.FromSecondThreadDuringACall(owner, intrude);
            Assert.IsType<InvalidOperationException>(seen);
            Assert.Contains("two threads at once", seen!.Message);
        }
        // nothing was changed by the intruders: GroupDRO took no step, the recorder holds no epoch, the method is between epochs
        Assert.Equal(0, dro.Steps);
        Assert.Throws<ArgumentException>(() => recorder.ErrorSetAt(0));
        method.BeginEpoch(1, 1);
    }

    [Fact]
    public void Calls_after_dispose_throw_object_disposed()
    {
        using var scope = NewDisposeScope();
        var evaluator = new WorstGroupEvaluator(GroupRobust.Groups.GroupScheme.Binary());
        evaluator.Dispose();
        Assert.Throws<ObjectDisposedException>(() => evaluator.Add(torch.zeros(1, 2), torch.zeros(1, ScalarType.Int64), null));
        Assert.Throws<ObjectDisposedException>(() => evaluator.Compute());
        var dro = new GroupDroLoss([1, 1]);
        dro.Dispose();
        Assert.Throws<ObjectDisposedException>(() => dro.Forward(torch.ones(1), torch.zeros(1, ScalarType.Int64)));
        Assert.Throws<ObjectDisposedException>(() => dro.Snapshot());

        var ds = Tiny.Dataset([0, 1, 0, 1], [0, 1, 1, 0]);
        var recorder = new ErrorSetRecorder(ds);
        recorder.Record(1, [0L], torch.zeros(1, ScalarType.Int64), torch.zeros(1, 2));
        recorder.Dispose();
        Assert.Throws<ObjectDisposedException>(() => recorder.ErrorSetAt(0));
        var method = new GroupRobust.Methods.ErmMethod(ds, new GroupRobust.Randomness.SeedSource(0));
        method.Dispose();
        Assert.Throws<ObjectDisposedException>(() => method.BeginEpoch(1, 1));
        Assert.Throws<ObjectDisposedException>(() => method.GetState());
        ds.Dispose();
        Assert.Throws<ObjectDisposedException>(() => ds.GetBatch([0]));
        ds.Dispose(); // twice is fine
    }

    /// <summary>A dataset of one's own whose host arrays say what <paramref name="labels"/> and <paramref name="groups"/> say.</summary>
    private sealed class HostArrays(GroupRobust.Data.IGroupDataset inner, int[] labels, int[] groups) : GroupRobust.Data.IGroupDataset
    {
        public int Count => inner.Count;
        public GroupRobust.Groups.GroupScheme Scheme => inner.Scheme;
        public ReadOnlyMemory<int> Labels => labels;
        public bool HasGroups => true;
        public ReadOnlyMemory<int> Groups => groups;
        public Device Device => inner.Device;
        public GroupRobust.Data.Batch GetBatch(ReadOnlySpan<long> indices) => inner.GetBatch(indices);
        public void Dispose() { }
    }

    [Fact]
    public void A_pass_checks_the_datasets_labels_and_groups_once_naming_the_sample()
    {
        using var ds = Tiny.Dataset([0, 1, 0, 1], [0, 1, 1, 0]);
        using var model = nn.Linear(3, 2);
        var evaluator = new WorstGroupEvaluator(ds.Scheme, new EvaluatorOptions { BootstrapSamples = 0 });
        // group 0 is class 0's, sample 1 is labelled 1
        var inconsistent = Assert.Throws<ArgumentException>(() => evaluator.Evaluate(model, new HostArrays(ds, [0, 1, 0, 1], [0, 0, 1, 2])));
        Assert.Equal("dataset", inconsistent.ParamName);
        Assert.Contains("Sample 1 has label 1 but group 0 belongs to class 0", inconsistent.Message);
        var group = Assert.Throws<ArgumentOutOfRangeException>(() => evaluator.Evaluate(model, new HostArrays(ds, [0, 1, 0, 1], [0, 3, 1, 4])));
        Assert.Contains("Group of sample 3 is 4; expected [0, 3]", group.Message);
        var label = Assert.Throws<ArgumentOutOfRangeException>(() => evaluator.Evaluate(model, new HostArrays(ds, [0, 1, 2, 1], [0, 3, 1, 2])));
        Assert.Contains("label at row 2 is 2; expected values in [0, 1]", label.Message);
        // the arrays as the dataset holds them pass
        Assert.Equal(4, evaluator.Evaluate(model, ds).Count);
    }
}
