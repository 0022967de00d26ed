using GroupRobust.Evaluation;
using GroupRobust.Identification;
using GroupRobust.Methods;
using GroupRobust.Mixing;
using GroupRobust.Randomness;
using GroupRobust.Sampling;
using GroupRobust.Tests.Methods;
using GroupRobust.Tests.TestSupport;
using GroupRobust.Text.Tokenization;
using TorchSharp;
using static TorchSharp.torch;

namespace GroupRobust.Tests;

/// <summary>
/// "Not thread-safe" means a clear exception, never a native crash or a silent mix-up: every stateful public type refuses
/// a second thread while a call is in progress (disposal included), and the refused call changes nothing.
/// </summary>
public class ThreadMisuseTests
{
    private static void Refused(object owner, Action intrude)
    {
        var seen = ThreadIntrusion.FromSecondThreadDuringACall(owner, intrude);
        Assert.IsType<InvalidOperationException>(seen);
        Assert.Contains("two threads at once", seen!.Message);
    }

    [Fact]
    public void Disposing_a_method_a_loss_or_the_recorder_during_another_threads_call_is_refused_and_frees_nothing()
    {
        using var ds = Tiny.Dataset([0, 1, 0, 1], [0, 1, 1, 0]);
        using var method = new GroupDroMethod(GroupAssignment.FromTrueGroups(ds), new SeedSource(0));
        Refused(method, method.Dispose);
        method.BeginEpoch(1, 1);   // still alive: nothing was freed
        method.EndEpoch();

        using var dro = new GroupDroLoss([1, 1, 1, 1]);
        Refused(dro, dro.Dispose);
        using (dro.Forward(torch.ones(2), Tiny.Longs(0, 1)))
        {
        }
        Assert.Equal(1, dro.Steps);

        using var recorder = new ErrorSetRecorder(ds);
        recorder.Record(1, [0L, 1, 2, 3], Tiny.Longs(0, 1, 0, 1), Tiny.LogitsFor(2, 1, 1, 0, 0));
        Refused(recorder, () => recorder.Forget(1));
        Refused(recorder, recorder.Dispose);
        Assert.Equal(2, recorder.ErrorSetAt(1).MinorityCount);   // the record is still there

        // after a real dispose, a second one does nothing and calls say the object is gone
        dro.Dispose();
        dro.Dispose();
        Assert.Throws<ObjectDisposedException>(() => dro.Forward(torch.ones(2), Tiny.Longs(0, 1)));
    }

    [Fact]
    public void The_state_readers_of_LfF_and_AFR_refuse_a_second_thread()
    {
        using var data = MethodFactory.Data(60);
        using var lff = new GroupRobust.Methods.LffMethod(data.Train, new SeedSource(0));
        Refused(lff, () => lff.SampleWeights());
        Refused(lff, () => lff.LossAverages());

        using var planted = DfrTests.Planted(0);
        var train = (GroupRobust.Data.TensorGroupDataset)planted.Train;
        using var heldOut = train.Subset([.. Enumerable.Range(0, 40).Select(i => (long)i)]);
        using var afr = new AfrMethod(heldOut, DfrTests.ErmHead(train), new SeedSource(0));
        Refused(afr, () => afr.SampleWeights());
        Assert.Equal(40, afr.SampleWeights().Length);
    }

    [Fact]
    public void The_tokenizer_the_sampler_the_selector_and_the_mixed_pass_refuse_a_second_thread_and_change_nothing()
    {
        using var dir = new TempDirectory();
        File.WriteAllText(dir.File("vocab.txt"), "[PAD]\n[UNK]\n[CLS]\n[SEP]\nhello\nworld\n");
        var tokenizer = WordPieceTokenizer.FromVocabulary(dir.File("vocab.txt"));
        Refused(tokenizer, () => tokenizer.Tokenize("hello world"));
        Assert.Equal([4, 5], tokenizer.Tokenize("hello world"));

        var sampler = new ShuffleSampler(10, 3);
        Refused(sampler, () => sampler.GetEnumerator());
        Assert.Equal(1, sampler.Epoch);   // the refused draw did not take an epoch

        var selector = new ModelSelector(SelectionRule.AverageAccuracy);
        using var ds = Tiny.Dataset([0, 1, 0, 1], [0, 1, 1, 0]);
        using var evaluator = new WorstGroupEvaluator(ds.Scheme);
        evaluator.Add(Tiny.LogitsFor(2, 0, 1, 0, 1), Tiny.Longs(0, 1, 0, 1), Tiny.Longs(0, 3, 1, 2));
        var result = evaluator.Compute();
        Refused(selector, () => selector.Add(1, result));
        Assert.Empty(selector.History);

        using var model = MethodFactory.Model(0);
        var pass = new MixedForwardPass(model, ["lin1", "act"], new ReproducibleRandom(0));
        Refused(pass, () => pass.ChooseLayer());
    }

    [Fact]
    public void Threads_hammering_one_mixed_pass_get_clear_refusals_or_correct_numbers_never_a_crash()
    {
        using var model = MethodFactory.Model(1);
        var pass = new MixedForwardPass(model, ["act"], new ReproducibleRandom(0));
        using var generator = new torch.Generator(2);
        using var x = torch.randn([16, 2], generator: generator);
        using var p = torch.randn([16, 2], generator: generator);
        using var c = torch.rand([16], generator: generator);
        using var expected = pass.Run(x, p, c);
        int ok = 0, refused = 0;
        var other = new List<Exception>();
        var threads = Enumerable.Range(0, 4).Select(_ => new Thread(() =>
        {
            for (int i = 0; i < 150; i++)
            {
                try
                {
                    using var scope = NewDisposeScope();
                    var logits = pass.Run(x, p, c);
                    if (logits.allclose(expected, 1e-5, 1e-6)) Interlocked.Increment(ref ok);
                    else lock (other) other.Add(new InvalidDataException("a call returned other numbers"));
                }
                catch (InvalidOperationException ex) when (ex.Message.Contains("two threads at once"))
                {
                    Interlocked.Increment(ref refused);
                }
                catch (Exception ex)
                {
                    lock (other) other.Add(ex);
                }
            }
        })).ToList();
        threads.ForEach(t => t.Start());
        threads.ForEach(t => t.Join());
        Assert.Empty(other);
        Assert.Equal(600, ok + refused);
        Assert.True(ok > 0);
    }
}
