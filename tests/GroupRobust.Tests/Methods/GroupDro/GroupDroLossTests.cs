using GroupRobust.Methods;
using GroupRobust.Tests.Identification;
using GroupRobust.Tests.TestSupport;
using TorchSharp;
using static TorchSharp.torch;

namespace GroupRobust.Tests.Methods;

public class GroupDroLossTests
{
    /// <summary>The reference LossComputer's arithmetic, written out in doubles (multiplicative q update).</summary>
    private sealed class Reference(long[] counts, double eta, double c, bool normalize, double gamma = 0.1)
    {
        public double[] Q = Enumerable.Repeat(1.0 / counts.Length, counts.Length).ToArray();
        public double[] Ema = new double[counts.Length];
        public bool[] Init = new bool[counts.Length];

        public (double Clean, double WithAdjustment) Step(double[] losses, int[] groups)
        {
            int gN = counts.Length;
            var n = new double[gN];
            var sum = new double[gN];
            for (int i = 0; i < losses.Length; i++)
            {
                n[groups[i]]++;
                sum[groups[i]] += losses[i];
            }
            var l = Enumerable.Range(0, gN).Select(g => sum[g] / (n[g] + (n[g] == 0 ? 1 : 0))).ToArray();
            for (int g = 0; g < gN; g++)
            {
                double prev = (1 - gamma * (n[g] > 0 ? 1 : 0)) * (Init[g] ? 1 : 0);
                Ema[g] = Ema[g] * prev + l[g] * (1 - prev);
                Init[g] = Init[g] || n[g] > 0;
            }
            var a = Enumerable.Range(0, gN).Select(g => l[g] + (c > 0 ? c / Math.Sqrt(counts[g]) : 0)).ToArray();
            if (normalize)
            {
                double s = a.Sum();
                a = a.Select(v => v / s).ToArray();
            }
            for (int g = 0; g < gN; g++) Q[g] *= Math.Exp(eta * a[g]);
            double z = Q.Sum();
            for (int g = 0; g < gN; g++) Q[g] /= z;
            double clean = Enumerable.Range(0, gN).Sum(g => Q[g] * l[g]);
            double adjusted = Enumerable.Range(0, gN).Sum(g => Q[g] * (l[g] + (c > 0 ? c / Math.Sqrt(counts[g]) : 0)));
            return (clean, adjusted);
        }
    }

    private static readonly long[] Counts = [100, 20, 30, 50];

    private static readonly (double[] Losses, int[] Groups)[] Batches =
    [
        ([1.0, 2.0, 0.5, 3.0], [0, 1, 0, 3]),         // group 2 absent
        ([0.2, 0.4, 1.5], [2, 2, 1]),                 // groups 0 and 3 absent
        ([0.7, 0.1, 2.2, 0.9, 1.3], [3, 0, 1, 2, 1]),
    ];

    [Theory]
    [InlineData(0.5, 2.0, false, false)]
    [InlineData(0.01, 0.0, false, false)]
    [InlineData(0.5, 1.0, true, false)]
    [InlineData(0.5, 2.0, false, true)]
    public void Three_steps_match_the_reference_formulas(double eta, double c, bool normalize, bool referenceValue)
    {
        var reference = new Reference(Counts, eta, c, normalize);
        using var dro = new GroupDroLoss(Counts, new GroupDroOptions { StepSize = eta, GeneralizationAdjustment = c, NormalizeLoss = normalize, ReferenceLossValue = referenceValue });
        foreach (var (losses, groups) in Batches)
        {
            using var scope = NewDisposeScope();
            var (clean, adjusted) = reference.Step(losses, groups);
            var robust = dro.Forward(torch.tensor(losses), torch.tensor(groups.Select(g => (long)g).ToArray()));
            Assert.Equal(referenceValue ? adjusted : clean, robust.item<double>(), 1e-6);
            var snap = dro.Snapshot();
            for (int g = 0; g < 4; g++)
            {
                Assert.Equal(reference.Q[g], snap.Q[g], 1e-6);
                Assert.Equal(reference.Ema[g], snap.ExpAvgLoss[g], 1e-6);
            }
        }
        Assert.Equal(3, dro.Steps);
    }

    [Fact]
    public void Absent_groups_get_zero_loss_and_keep_their_ema()
    {
        using var dro = new GroupDroLoss(Counts);
        using var scope = NewDisposeScope();
        dro.Forward(torch.tensor(new[] { 1.0, 3.0 }), torch.tensor(new long[] { 0, 1 }));
        dro.Forward(torch.tensor(new[] { 5.0 }), torch.tensor(new long[] { 1 }));
        var s = dro.Snapshot();
        Assert.Equal(new[] { 0.0, 5.0, 0.0, 0.0 }, s.LastGroupLoss);
        Assert.Equal(new[] { 0.0, 1.0, 0.0, 0.0 }, s.LastGroupCount);
        Assert.Equal(1.0, s.ExpAvgLoss[0], 12);            // absent in step 2: unchanged
        Assert.Equal(0.9 * 3 + 0.1 * 5, s.ExpAvgLoss[1], 12);
        Assert.Equal(0.0, s.ExpAvgLoss[2]);                 // never seen
    }

    [Fact]
    public void Gradient_is_q_weighted_group_mean()
    {
        using var dro = new GroupDroLoss([1, 1], new GroupDroOptions { StepSize = 0 });
        using var scope = NewDisposeScope();
        var losses = torch.tensor(new[] { 1.0, 2.0, 3.0 }, requires_grad: true);
        dro.Forward(losses, torch.tensor(new long[] { 0, 0, 1 })).backward();
        // q = (0.5, 0.5): d/dl = 0.5 / 2 for the group-0 rows, 0.5 / 1 for the group-1 row
        Assert.Equal(new[] { 0.25, 0.25, 0.5 }, losses.grad!.data<double>().ToArray());
    }

    [Fact]
    public void Btl_weights_on_a_hand_made_example()
    {
        using var scope = NewDisposeScope();
        var losses = torch.tensor(new[] { 4.0, 1.0, 3.0, 2.0 });
        var groups = torch.tensor(new long[] { 0, 1, 2, 3 });
        using var btl = new GroupDroLoss([10, 20, 30, 40], new GroupDroOptions { Btl = true, BtlAlpha = 0.25 });
        // sorted by loss: g0 (f .1), g2 (.3), g3, g1 -> g0 gets .1/.25 = .4, g2 the remaining .6
        Assert.Equal(0.4 * 4 + 0.6 * 3, btl.Forward(losses, groups).item<double>(), 12);
        Assert.Equal(new[] { 0.4, 0.0, 0.6, 0.0 }, btl.Snapshot().LastWeights.Select(w => Math.Round(w, 12)));
        using var mixed = new GroupDroLoss([10, 20, 30, 40], new GroupDroOptions { Btl = true, BtlAlpha = 0.25, MinVarWeight = 0.5 });
        Assert.Equal(0.25 * 4 + 0.1 * 1 + 0.45 * 3 + 0.2 * 2, mixed.Forward(losses, groups).item<double>(), 12);
    }

    [Fact]
    public void Adjustment_uses_known_counts()
    {
        using var dro = new GroupDroLoss([4, 16], new GroupDroOptions { StepSize = 1, GeneralizationAdjustments = [2.0, 4.0] });
        using var scope = NewDisposeScope();
        dro.Forward(torch.tensor(new[] { 1.0, 1.0 }), torch.tensor(new long[] { 0, 1 }));
        // a = L + C / sqrt(N) = (1 + 1, 1 + 1): equal, so q stays uniform
        Assert.Equal(new[] { 0.5, 0.5 }, dro.Snapshot().Q.Select(v => Math.Round(v, 12)));
        dro.Forward(torch.tensor(new[] { 1.0, 0.0 }), torch.tensor(new long[] { 0, 1 }));
        var q = dro.Snapshot().Q;
        Assert.Equal(Math.Exp(2) / (Math.Exp(2) + Math.Exp(1)), q[0], 12);
    }

    [Fact]
    public void Properties_on_random_inputs()
    {
        var rng = new Random(4);
        using var dro = new GroupDroLoss([30, 30, 30], new GroupDroOptions { StepSize = 0.1 });
        for (int t = 0; t < 200; t++)
        {
            using var scope = NewDisposeScope();
            int b = rng.Next(1, 20);
            var groups = Enumerable.Range(0, b).Select(_ => (long)rng.Next(3)).ToArray();
            // group 2 always has the highest loss
            var losses = groups.Select(g => g == 2 ? 2 + rng.NextDouble() : rng.NextDouble()).ToArray();
            dro.Forward(torch.tensor(losses), torch.tensor(groups));
            var q = dro.Snapshot().Q;
            Assert.All(q, v => Assert.InRange(v, 0.0, 1.0));
            Assert.Equal(1.0, q.Sum(), 1e-9);
        }
        var final = dro.Snapshot().Q;
        Assert.True(final[2] > 0.9, $"q = [{string.Join(", ", final)}]");
    }

    [Fact]
    public void Log_space_update_survives_where_the_multiplicative_one_overflows()
    {
        var reference = new Reference([10, 10], eta: 1, c: 0, normalize: false);
        using var dro = new GroupDroLoss([10, 10], new GroupDroOptions { StepSize = 1 });
        for (int t = 0; t < 5; t++)
        {
            using var scope = NewDisposeScope();
            reference.Step([800, 0], [0, 1]);
            dro.Forward(torch.tensor(new[] { 800.0, 0.0 }), torch.tensor(new long[] { 0, 1 }));
        }
        Assert.True(double.IsNaN(reference.Q[0]));   // exp(800) overflows
        var q = dro.Snapshot().Q;
        Assert.Equal(1.0, q[0], 12);
        Assert.Equal(0.0, q[1], 12);
    }

    [Fact]
    public void Save_and_load_then_continue_equals_an_uninterrupted_run()
    {
        var opts = new GroupDroOptions { StepSize = 0.3, GeneralizationAdjustment = 1 };
        using var whole = new GroupDroLoss(Counts, opts);
        using var first = new GroupDroLoss(Counts, opts);
        using var scope = NewDisposeScope();
        var results = Batches.Select(b => whole.Forward(torch.tensor(b.Losses), torch.tensor(b.Groups.Select(g => (long)g).ToArray())).item<double>()).ToArray();
        first.Forward(torch.tensor(Batches[0].Losses), torch.tensor(Batches[0].Groups.Select(g => (long)g).ToArray()));
        // the one state route (IResumable): named host arrays, JSON-serialisable, as a method checkpoint stores them
        var saved = new Dictionary<string, double[]>();
        first.WriteState(saved, "dro/");
        var json = System.Text.Json.JsonSerializer.Serialize(saved);
        using var resumed = new GroupDroLoss(Counts, opts);
        resumed.ReadState(System.Text.Json.JsonSerializer.Deserialize<Dictionary<string, double[]>>(json)!, "dro/")();
        Assert.Equal(1, resumed.Steps);
        for (int i = 1; i < 3; i++)
            Assert.Equal(results[i], resumed.Forward(torch.tensor(Batches[i].Losses), torch.tensor(Batches[i].Groups.Select(g => (long)g).ToArray())).item<double>(), 15);
        Assert.Equal(whole.Snapshot().Q, resumed.Snapshot().Q);
        Assert.Equal(whole.Snapshot().ExpAvgLoss, resumed.Snapshot().ExpAvgLoss);
        using var other = new GroupDroLoss([1, 2, 3, 4], opts);
        var ex = Assert.Throws<ArgumentException>(() => other.ReadState(saved, "dro/"));
        Assert.Contains("training group counts", ex.Message);
        Assert.Throws<ArgumentException>(() => resumed.ReadState(saved, "other/"));
    }

    [Fact]
    public void Bad_input_is_rejected_and_leaves_the_state_unchanged()
    {
        using var dro = new GroupDroLoss(Counts);
        using var scope = NewDisposeScope();
        dro.Forward(torch.tensor(new[] { 1.0 }), torch.tensor(new long[] { 0 }));
        var before = dro.Snapshot();
        var e1 = Assert.Throws<ArgumentOutOfRangeException>(() => dro.Forward(torch.tensor(new[] { 1.0 }), torch.tensor(new long[] { 4 })));
        Assert.Contains("group id 4", e1.Message);
        var e2 = Assert.Throws<ArgumentException>(() => dro.Forward(torch.ones(2, 2), torch.tensor(new long[] { 0, 1 })));
        Assert.Contains("1-D", e2.Message);
        var e3 = Assert.Throws<ArgumentException>(() => dro.Forward(torch.ones(3), torch.tensor(new long[] { 0, 1 })));
        Assert.Contains("'groups' has 2 rows but 'perSampleLosses' has 3", e3.Message);
        var e4 = Assert.Throws<ArgumentException>(() => dro.Forward(torch.tensor(new[] { double.NaN }), torch.tensor(new long[] { 0 })));
        Assert.Contains("non-finite", e4.Message);
        Assert.Throws<ArgumentException>(() => dro.Forward(torch.ones(1), torch.ones(1)));
        var after = dro.Snapshot();
        Assert.Equal(before.Q, after.Q);
        Assert.Equal(before.ExpAvgLoss, after.ExpAvgLoss);
        Assert.Equal(1, dro.Steps);
        Assert.Throws<ArgumentOutOfRangeException>(() => new GroupDroLoss(Counts, new GroupDroOptions { StepSize = -0.1 }));
        var e5 = Assert.Throws<ArgumentException>(() => new GroupDroLoss([10, 0], new GroupDroOptions { GeneralizationAdjustment = 1 }));
        Assert.Contains("no training samples", e5.Message);
        Assert.Throws<ArgumentException>(() => new GroupDroLoss([]));
    }

    [Fact]
    public void Normalize_with_zero_losses_stays_finite()
    {
        using var dro = new GroupDroLoss([5, 5], new GroupDroOptions { NormalizeLoss = true, StepSize = 1 });
        using var scope = NewDisposeScope();
        var r = dro.Forward(torch.zeros(2, ScalarType.Float64), torch.tensor(new long[] { 0, 1 }));
        Assert.Equal(0.0, r.item<double>());
        Assert.All(dro.Snapshot().Q, v => Assert.Equal(0.5, v, 12));
    }

    [Fact]
    public void Accuracy_statistics_and_no_update_mode()
    {
        using var dro = new GroupDroLoss([5, 5]);
        using var scope = NewDisposeScope();
        dro.Forward(torch.tensor(new[] { 1.0, 1.0, 1.0 }), torch.tensor(new long[] { 0, 0, 1 }), Tiny.LogitsFor(2, 0, 1, 1), torch.tensor(new long[] { 0, 0, 1 }));
        Assert.Equal(new[] { 0.5, 1.0 }, dro.Snapshot().LastGroupAccuracy);
        var before = dro.Snapshot();
        dro.Forward(torch.tensor(new[] { 9.0 }), torch.tensor(new long[] { 0 }), Tiny.LogitsFor(2, 1), torch.tensor(new long[] { 0 }), update: false);
        var after = dro.Snapshot();
        Assert.Equal(before.Q, after.Q);
        Assert.Equal(before.LastGroupLoss, after.LastGroupLoss);   // the last batch's statistics stay those of the last update
        Assert.Equal(before.LastGroupAccuracy, after.LastGroupAccuracy);
        Assert.Equal(before.LastWeights, after.LastWeights);
        Assert.Equal(1, dro.Steps);
    }

    [Fact]
    public void Mixed_adjustments_warn_that_the_reference_turns_them_off()
    {
        var logger = new ListLogger();
        using var dro = new GroupDroLoss([5, 5], new GroupDroOptions { GeneralizationAdjustments = [1, 0] }, logger);
        Assert.Contains(logger.Messages, m => m.Contains("every group's C is > 0"));
    }

    [Fact]
    public void Reduced_precision_losses_accumulate_in_float32_and_an_overflow_cannot_poison_q()
    {
        using var scope = NewDisposeScope();
        // 1000 losses of 0.7 in bfloat16: summed in bf16 the group mean comes out far from 0.7
        using var dro = new GroupDroLoss([1000, 1000]);
        var losses = torch.full(1000, 0.7f).to(ScalarType.BFloat16);
        var robust = dro.Forward(losses, torch.zeros(1000, ScalarType.Int64));
        Assert.Equal(ScalarType.BFloat16, robust.dtype);
        Assert.Equal(0.7, dro.Snapshot().LastGroupLoss[0], 1e-2);

        // float32 losses whose group sum overflows float32: q and the EMA stay finite and sum to 1
        using var big = new GroupDroLoss([2, 2], new GroupDroOptions { StepSize = 0.1 });
        big.Forward(torch.tensor(new[] { 3e38f, 3e38f, 1f, 1f }), torch.tensor(new long[] { 0, 0, 1, 1 }));
        var snap = big.Snapshot();
        Assert.All(snap.Q, v => Assert.True(double.IsFinite(v)));
        Assert.Equal(1.0, snap.Q.Sum(), 1e-9);
        Assert.All(snap.ExpAvgLoss, v => Assert.True(double.IsFinite(v)));
        Assert.Equal(0, big.SkippedSteps);
    }

    [Fact]
    public void A_non_finite_batch_where_the_eager_check_does_not_run_is_skipped_on_the_device_and_counted()
    {
        using var scope = NewDisposeScope();
        // as on CUDA: no eager finiteness check, so the NaN reaches the update, which must mask it without a host sync
        using var dro = new GroupDroLoss([4, 4], new GroupDroOptions { StepSize = 0.5 }) { SkipEagerChecks = true };
        using var reference = new GroupDroLoss([4, 4], new GroupDroOptions { StepSize = 0.5 });
        dro.Forward(torch.tensor(new[] { 1f, 2f }), torch.tensor(new long[] { 0, 1 }));
        reference.Forward(torch.tensor(new[] { 1f, 2f }), torch.tensor(new long[] { 0, 1 }));
        var before = dro.Snapshot();
        foreach (var bad in new[] { float.NaN, float.PositiveInfinity })
            dro.Forward(torch.tensor(new[] { bad, 2f }), torch.tensor(new long[] { 0, 1 }));
        var after = dro.Snapshot();
        Assert.Equal(before.Q, after.Q);
        Assert.Equal(before.ExpAvgLoss, after.ExpAvgLoss);
        Assert.All(after.Q, v => Assert.True(double.IsFinite(v)));
        Assert.Equal(2, dro.SkippedSteps);
        Assert.Equal(3, dro.Steps);   // the skipped calls still count as calls
        // the next finite batch updates exactly as in a run that never saw the bad batches
        dro.Forward(torch.tensor(new[] { 3f, 1f }), torch.tensor(new long[] { 0, 1 }));
        reference.Forward(torch.tensor(new[] { 3f, 1f }), torch.tensor(new long[] { 0, 1 }));
        Assert.Equal(reference.Snapshot().Q, dro.Snapshot().Q);
        Assert.Equal(reference.Snapshot().ExpAvgLoss, dro.Snapshot().ExpAvgLoss);
    }

    [Fact]
    public void With_a_cross_process_sum_two_ranks_on_the_same_batch_are_the_one_process_run()
    {
        using var scope = NewDisposeScope();
        // two ranks that happen to see the same batch: the global counts and sums are twice the local ones
        using var two = new GroupDroLoss([4, 4, 4, 4], new GroupDroOptions { StepSize = 0.3 }) { CrossProcessSum = t => t * 2 };
        using var one = new GroupDroLoss([4, 4, 4, 4], new GroupDroOptions { StepSize = 0.3 });
        var generator = new torch.Generator(3);
        for (int step = 0; step < 5; step++)
        {
            var losses = torch.rand([16], generator: generator);
            var groups = torch.randint(0, 4, [16], generator: generator);
            var a = two.Forward(losses, groups).item<float>();
            var b = one.Forward(losses, groups).item<float>();
            Assert.Equal(b, a, 1e-5);   // this rank's share, scaled to the mean form gradient averaging expects, is the whole loss
        }
        Assert.Equal(one.Snapshot().Q, two.Snapshot().Q);
        Assert.Equal(one.Snapshot().ExpAvgLoss, two.Snapshot().ExpAvgLoss);
    }

    [Fact]
    public void A_failing_call_leaves_the_loss_usable()
    {
        using var scope = NewDisposeScope();
        using var dro = new GroupDroLoss([5, 5]);
        dro.Forward(torch.tensor(new[] { 1.0, 2.0 }), torch.tensor(new long[] { 0, 1 }));
        var before = dro.Snapshot();
        Assert.Throws<ArgumentException>(() => dro.Forward(torch.tensor(new[] { 1.0, 2.0 }), torch.tensor(new long[] { 0, 1 }), torch.zeros(2, 2), torch.tensor(new[] { 0.0, 1.0 })));
        Assert.Equal(before.Q, dro.Snapshot().Q);
        Assert.Equal(before.Steps, dro.Steps);
        // tensors on another device: rejected before the loss's state is moved there
        var onMeta = Assert.Throws<ArgumentException>(() => dro.Forward(torch.ones(2, device: META), torch.zeros(2, ScalarType.Int64, device: META)));
        Assert.Contains("meta", onMeta.Message);
        Assert.Throws<ArgumentException>(() => dro.Forward(torch.tensor(new[] { 1.0, 2.0 }), torch.tensor(new long[] { 0, 1 }), torch.zeros(2, 2), torch.zeros(2, ScalarType.Int64, device: META)));
        Assert.Equal(before.Q, dro.Snapshot().Q);
        Assert.Equal(before.Steps, dro.Steps);
        dro.Forward(torch.tensor(new[] { 1.0, 2.0 }), torch.tensor(new long[] { 0, 1 }));
        Assert.Equal(before.Steps + 1, dro.Steps);
    }
}
