using GroupRobust.Identification;
using GroupRobust.Mixing;
using GroupRobust.Tests.TestSupport;
using static TorchSharp.torch;
using GroupRobust.Methods;

namespace GroupRobust.Tests.Mixing;

/// <summary>The partner mixers are not thread-safe: a second thread entering one during a call is detected, not silently interleaved.</summary>
public class MixerThreadSafetyTests
{
    /// <summary>A generator that, on its first draw (inside the mixer's call), makes another thread call the mixer.</summary>
    private sealed class IntrudingRandom : Random
    {
        public Action? Intrude { get; set; }
        public Exception? Seen { get; private set; }
        private bool _done;

        public override int Next(int maxValue)
        {
            if (!_done && Intrude is not null)
            {
                _done = true;
                var t = new Thread(() =>
                {
                    try
                    {
                        using var scope = NewDisposeScope();
                        Intrude();
                    }
                    catch (Exception ex)
                    {
                        Seen = ex;
                    }
                });
                t.Start();
                t.Join();
            }
            return base.Next(maxValue);
        }

        public override double NextDouble() => 0.25;
    }

    public static TheoryData<string> Mixers => new() { "class-conditional", "lisa", "groupjm1" };

    [Theory]
    [MemberData(nameof(Mixers))]
    public void A_second_thread_inside_a_call_is_detected_and_the_call_completes(string kind)
    {
        using var ds = Tiny.Dataset([0, 0, 1, 1, 0, 1], [0, 1, 0, 1, 1, 0]);
        var groups = GroupAssignment.FromTrueGroups(ds);
        var rng = new IntrudingRandom();
        using var batch = ds.GetBatch([0, 1, 2, 3]);
        Func<MixPlan> draw;
        Func<MixingStatistics> stats;
        switch (kind)
        {
            case "class-conditional":
            {
                var m = new ClassConditionalMixer(groups, rng);
                draw = () => m.DrawPartners(batch);
                stats = () => m.Statistics;
                break;
            }
            case "lisa":
            {
                var m = new LisaMixer(groups, rng);
                draw = () => m.DrawPartners(batch);
                stats = () => m.Statistics;
                break;
            }
            default:
            {
                var m = new GroupJm1Mixer(groups, rng);
                draw = () => m.DrawPartners(batch, 0);
                stats = () => m.Statistics;
                break;
            }
        }
        rng.Intrude = () => draw();
        var plan = draw();
        Assert.IsType<InvalidOperationException>(rng.Seen);
        Assert.Contains("two threads at once", rng.Seen!.Message);
        Assert.Equal(4, plan.Count);
        // only the owning call was counted: the intruder changed nothing
        Assert.Equal(kind == "groupjm1" ? 1 : 4, stats().Mixed + stats().Unmixed);
        // the mixer is usable again afterwards, from this thread
        Assert.Equal(4, draw().Count);
    }

    /// <summary>An activation whose forward, once armed, makes another thread act while the mixed pass is inside its call.</summary>
    private sealed class IntrudingActivation : TorchSharp.torch.nn.Module<Tensor, Tensor>
    {
        public IntrudingActivation() : base(nameof(IntrudingActivation)) { }

        public Action? Intrude { get; set; }
        public List<Exception> Seen { get; } = [];

        public override Tensor forward(Tensor x)
        {
            if (Intrude is { } intrude)
            {
                Intrude = null;
                var t = new Thread(() =>
                {
                    try
                    {
                        using var scope = NewDisposeScope();
                        intrude();
                    }
                    catch (Exception ex)
                    {
                        lock (Seen) Seen.Add(ex);
                    }
                });
                t.Start();
                t.Join();
            }
            return TorchSharp.torch.nn.functional.relu(x);
        }
    }

    [Theory]
    [InlineData("run")]
    [InlineData("run-with-partner-rows")]
    [InlineData("choose-layer")]
    [InlineData("forward-of-the-shared-model")]
    public void The_mixed_forward_pass_refuses_a_second_thread_instead_of_crashing_and_its_call_completes(string intrusion)
    {
        // before the guard, two threads in Run freed each other's partner representation: a native crash (SIGSEGV)
        using var scope = NewDisposeScope();
        var act = new IntrudingActivation();
        using var model = TorchSharp.torch.nn.Sequential(("lin1", TorchSharp.torch.nn.Linear(4, 8)), ("act1", act), ("fc", TorchSharp.torch.nn.Linear(8, 3)));
        var pass = new MixedForwardPass(model, ["act1", "output"], new Random(0));
        using var generator = new TorchSharp.torch.Generator(5);
        var x = TorchSharp.torch.randn([5, 4], generator: generator);
        var p = TorchSharp.torch.randn([5, 4], generator: generator);
        var c = TorchSharp.torch.tensor(new[] { 0.1f, 0.5f, 0.9f, 1f, 0f });
        var expected = pass.Run(x, p, c, "act1");
        act.Intrude = intrusion switch
        {
            "run" => () => pass.Run(x, p, c, "act1"),
            "run-with-partner-rows" => () => pass.Run(x, null, [1, 0, 3, 2, 4], c, "act1"),
            "choose-layer" => () => pass.ChooseLayer(),
            _ => () => model.call(x),   // the hook sits on the shared model during the pass
        };
        var logits = pass.Run(x, p, c, "act1");
        var seen = Assert.Single(act.Seen);
        Assert.IsType<InvalidOperationException>(seen);
        Assert.Contains("two threads at once", seen.Message);
        Assert.Contains("mixed forward pass", seen.Message);
        Assert.True(logits.allclose(expected, 1e-5, 1e-6), "the call in progress completes with the numbers of an undisturbed call");
        // and the pass is usable afterwards, from any thread
        Tensor? after = null;
        var other = new Thread(() => after = pass.Run(x, p, c, "act1").detach().clone().DetachFromDisposeScope());
        other.Start();
        other.Join();
        using (after) Assert.True(after!.allclose(expected, 1e-5, 1e-6));
    }
}
