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
}
