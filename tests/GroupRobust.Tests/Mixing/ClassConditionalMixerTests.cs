using GroupRobust.Data;
using GroupRobust.Groups;
using GroupRobust.Identification;
using GroupRobust.Mixing;
using GroupRobust.Randomness;
using GroupRobust.Sampling;
using GroupRobust.Tests.Identification;
using GroupRobust.Tests.TestSupport;
using TorchSharp;
using static TorchSharp.torch;

namespace GroupRobust.Tests.Mixing;

public class ClassConditionalMixerTests
{
    /// <summary>n samples per (class, side); inputs of class y on side s are N(mean(y, s), I) in d dims.</summary>
    private static (TensorGroupDataset Data, GroupAssignment Partition) TwoSided(int perCell, int d, Func<int, int, float> mean, int seed = 0)
    {
        int n = 4 * perCell;
        var labels = new long[n];
        var side = new bool[n];
        var rng = new ReproducibleRandom(seed);
        var normal = new MathNet.Numerics.Distributions.Normal(0, 1, rng);
        var x = new float[n * d];
        for (int i = 0; i < n; i++)
        {
            int cell = i % 4;
            labels[i] = cell / 2;
            side[i] = cell % 2 == 1;
            for (int k = 0; k < d; k++) x[i * d + k] = mean((int)labels[i], side[i] ? 1 : 0) + (float)normal.Sample();
        }
        using var scope = NewDisposeScope();
        var ds = new TensorGroupDataset(torch.tensor(x, [n, d]), torch.tensor(labels), GroupScheme.Binary(), torch.tensor(side.Select(s => s ? 1L : 0L).ToArray()));
        return (ds, GroupAssignment.FromErrorSet(side, ds, "test"));
    }

    [Theory]
    [InlineData(AlphaOrientation.MinorityWeight)]
    [InlineData(AlphaOrientation.MajorityWeight)]
    public void Mixing_gaussians_gives_the_interpolated_mean_and_variance(AlphaOrientation orientation)
    {
        // class 0: error set ~ N(3, I), rest ~ N(-1, I); alpha = 0.3 on the minority (or majority) sample.
        const int perCell = 20_000;
        var (ds, partition) = TwoSided(perCell, 2, (y, s) => y == 0 ? (s == 1 ? 3f : -1f) : 10f);
        using var _ = ds;
        var mixer = new ClassConditionalMixer(partition, new ReproducibleRandom(5), orientation: orientation);
        using var scope = NewDisposeScope();
        var class0 = Enumerable.Range(0, ds.Count).Where(i => ds.Labels.Span[i] == 0).Select(i => (long)i).ToArray();
        using var batch = ds.GetBatch(class0);
        var plan = mixer.DrawPartners(batch);
        using var partners = ds.GetBatch(plan.PartnerIndices);
        var mixed = mixer.Mix(batch, partners, plan, 0.3);
        double wMin = orientation == AlphaOrientation.MinorityWeight ? 0.3 : 0.7;
        double expectedMean = wMin * 3 + (1 - wMin) * -1;
        double expectedVar = wMin * wMin + (1 - wMin) * (1 - wMin);
        var mean = mixed.mean([0]).data<float>().ToArray();
        var variance = mixed.var(0).data<float>().ToArray();
        // n = 40,000 mixed rows: SE(mean) = sqrt(var / n) <= 0.005, SE(var) = var sqrt(2 / n) <= 0.005; a partner is reused
        // about once on average, which at most doubles these; tolerance 0.03 is more than 3 such SEs.
        Assert.All(mean, m => Assert.Equal(expectedMean, m, 0.03));
        Assert.All(variance, v => Assert.Equal(expectedVar, v, 0.03));
        Assert.Equal(2 * perCell, plan.MixedCount);
    }

    [Theory]
    [InlineData(PartnerPolicy.OtherGroupSameClass)]
    [InlineData(PartnerPolicy.SameClass)]
    [InlineData(PartnerPolicy.OtherSideAnyClass)]
    public void Every_pair_obeys_its_policy(PartnerPolicy policy)
    {
        var (ds, partition) = TwoSided(50, 1, (y, s) => 0f);
        using var _ = ds;
        var mixer = new ClassConditionalMixer(partition, new ReproducibleRandom(1), policy: policy);
        var rng = new Random(2);
        for (int t = 0; t < 200; t++)
        {
            var idx = Enumerable.Range(0, 32).Select(_ => (long)rng.Next(ds.Count)).ToArray();
            var plan = mixer.DrawPartners(idx);
            for (int i = 0; i < idx.Length; i++)
            {
                long p = plan.PartnerIndices[i];
                Assert.True(plan.Mixed[i]);
                bool sameLabel = partition.LabelOf(p) == partition.LabelOf(idx[i]);
                bool otherSide = partition.IsMinority(p) != partition.IsMinority(idx[i]);
                switch (policy)
                {
                    case PartnerPolicy.OtherGroupSameClass: Assert.True(sameLabel && otherSide); break;
                    case PartnerPolicy.SameClass: Assert.True(sameLabel); break;
                    case PartnerPolicy.OtherSideAnyClass: Assert.True(otherSide); break;
                }
            }
        }
        Assert.Equal(200 * 32, mixer.Statistics.Mixed);
    }

    [Fact]
    public void Coefficients_follow_side_and_orientation()
    {
        var (ds, partition) = TwoSided(2, 1, (y, s) => 0f);
        using var _ = ds;
        using var like = torch.zeros(1);
        // indices 0..3: (y0, rest), (y0, E), (y1, rest), (y1, E)
        var minority = new ClassConditionalMixer(partition, new Random(0), orientation: AlphaOrientation.MinorityWeight);
        var plan = minority.DrawPartners([0, 1, 2, 3]);
        Assert.Equal(new[] { 0.75f, 0.25f, 0.75f, 0.25f }, minority.Coefficients(plan, 0.25, like).data<float>().ToArray());
        var majority = new ClassConditionalMixer(partition, new Random(0));   // the default orientation
        Assert.Equal(AlphaOrientation.MajorityWeight, majority.Orientation);
        Assert.Equal(new[] { 0.25f, 0.75f, 0.25f, 0.75f }, majority.Coefficients(majority.DrawPartners([0, 1, 2, 3]), 0.25, like).data<float>().ToArray());
        var cmix = new ClassConditionalMixer(partition, new Random(0), policy: PartnerPolicy.SameClass);
        Assert.Equal(new[] { 0.25f, 0.25f, 0.25f, 0.25f }, cmix.Coefficients(cmix.DrawPartners([0, 1, 2, 3]), 0.25, like).data<float>().ToArray());
        Assert.Equal(new[] { 0.1f, 0.8f, 0.3f, 0.6f }, minority.Coefficients(plan, [0.9, 0.8, 0.7, 0.6], like).data<float>().ToArray(), new FloatTolerance(1e-6f));
    }

    [Fact]
    public void Classes_without_partners_are_left_unmixed_counted_and_logged()
    {
        // class 1 lies entirely in the rest
        using var ds = Tiny.Dataset([0, 0, 1, 1, 0, 1], [0, 1, 0, 0, 1, 0]);
        var partition = GroupAssignment.FromErrorIndices([1, 4], ds, "test");
        var logger = new ListLogger();
        var mixer = new ClassConditionalMixer(partition, new Random(0), logger: logger);
        Assert.Contains(logger.Messages, m => m.Contains("Class 1 has all of its 3 samples on one side"));
        using var batch = ds.GetBatch([0, 2, 3, 5, 1]);
        var plan = mixer.DrawPartners(batch);
        Assert.Equal(new[] { true, false, false, false, true }, plan.Mixed);
        Assert.Equal(new long[] { 2, 3, 5 }, plan.PartnerIndices[1..4]);
        using var partners = ds.GetBatch(plan.PartnerIndices);
        using var mixed = mixer.Mix(batch, partners, plan, 0.5);
        Assert.True(mixed[1..4].allclose(batch.Inputs[1..4], 0, 0));   // unmixed rows unchanged
        var stats = mixer.EndEpoch();
        Assert.Equal(new long[] { 2, 0 }, stats.MixedPerClass);
        Assert.Equal(new long[] { 0, 3 }, stats.UnmixedPerClass);
        Assert.Equal(0.5, stats.AlphaMean);
        Assert.Contains(logger.Messages, m => m.Contains("3 of 5 samples had no partner"));
        Assert.Equal(2, mixer.Epoch);   // epochs are numbered from 1: the next is the second
        Assert.Equal(0, mixer.Statistics.Unmixed);
    }

    [Fact]
    public void An_error_side_that_is_half_or_more_of_its_class_is_reported()
    {
        // class 0: 10 samples, 9 in the error set; class 1: 10 samples, 1 in the error set
        var labels = Enumerable.Range(0, 20).Select(i => i < 10 ? 0 : 1).ToArray();
        using var ds = Tiny.Dataset(labels, null);
        var partition = GroupAssignment.FromErrorIndices([0, 1, 2, 3, 4, 5, 6, 7, 8, 10], ds, "test");
        var logger = new ListLogger();
        _ = new ClassConditionalMixer(partition, new Random(0), logger: logger);
        var warning = Assert.Single(logger.Messages, m => m.Contains("no minority of that class"));
        Assert.Contains("Class 0: the error side holds 9 of its 10 samples, no minority of that class; mixing assumes it is one", warning);
        Assert.Contains("its partners come from the other 1); check phase I", warning);
        Assert.DoesNotContain(logger.Messages, m => m.Contains("Class 1:"));

        // the bound is half: 5 of 10 is reported, 4 of 10 is a minority
        var half = GroupAssignment.FromErrorIndices([0, 1, 2, 3, 4, 10, 11, 12, 13], ds, "test");
        var halfLogger = new ListLogger();
        _ = new ClassConditionalMixer(half, new Random(0), logger: halfLogger);
        Assert.Contains("Class 0: the error side holds 5 of its 10 samples, no minority", Assert.Single(halfLogger.Messages, m => m.Contains("no minority of that class")));
        Assert.DoesNotContain(halfLogger.Messages, m => m.Contains("Class 1:"));
    }

    [Fact]
    public void Labels_are_preserved_and_mixing_stays_on_device_and_dtype()
    {
        var (ds, partition) = TwoSided(10, 3, (y, s) => y + s);
        using var _ = ds;
        var mixer = new ClassConditionalMixer(partition, new Random(0));
        using var scope = NewDisposeScope();
        using var batch = ds.GetBatch([0, 1, 2, 3, 4]);
        var plan = mixer.DrawPartners(batch);
        using var partners = ds.GetBatch(plan.PartnerIndices);
        var x64 = mixer.Mix(batch.Inputs.to(ScalarType.Float64), partners.Inputs.to(ScalarType.Float64), plan, 0.4);
        Assert.Equal(ScalarType.Float64, x64.dtype);
        Assert.Equal(batch.Inputs.device_type, x64.device_type);
        for (int i = 0; i < 5; i++) Assert.Equal(partition.LabelOf(batch.Indices[i]), partition.LabelOf(plan.PartnerIndices[i]));
    }

    [Fact]
    public void Same_seed_same_mixed_batch()
    {
        var (ds, partition) = TwoSided(20, 2, (y, s) => y - s);
        using var _ = ds;
        Tensor Run()
        {
            var rng = new ReproducibleRandom(9);
            var mixer = new ClassConditionalMixer(partition, rng);
            using var batch = ds.GetBatch([0, 5, 9, 14, 33]);
            var plan = mixer.DrawPartners(batch);
            using var partners = ds.GetBatch(plan.PartnerIndices);
            return mixer.Mix(batch, partners, plan, AlphaSchedule.UniformThenBeta().Sample(1, 4, rng));
        }
        using var a = Run();
        using var b = Run();
        Assert.True(a.allclose(b, 0, 0));
    }

    [Fact]
    public void Bad_input_gives_clear_errors()
    {
        var (ds, partition) = TwoSided(5, 2, (y, s) => 0f);
        using var _ = ds;
        var mixer = new ClassConditionalMixer(partition, new Random(0));
        using var scope = NewDisposeScope();
        using var batch = ds.GetBatch([0, 1, 2]);
        var plan = mixer.DrawPartners(batch);
        using var partners = ds.GetBatch(plan.PartnerIndices);
        var e1 = Assert.Throws<ArgumentOutOfRangeException>(() => mixer.Mix(batch, partners, plan, 1.5));
        Assert.Equal("alpha", e1.ParamName);
        var e2 = Assert.Throws<ArgumentException>(() => mixer.Mix(batch.Inputs, partners.Inputs[..2], plan, 0.5));
        Assert.Contains("[2, 2]", e2.Message);
        using var other = Tiny.Dataset([0, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 0], null);
        using var foreign = other.GetBatch([21]);
        Assert.Contains("a dataset of 22 samples", Assert.Throws<ArgumentException>(() => mixer.DrawPartners(foreign)).Message);
        Assert.Throws<ArgumentOutOfRangeException>(() => mixer.DrawPartners([21L]));   // bare indices: the range check
        using var wrongLabels = other.GetBatch([1]);
        var e3 = Assert.Throws<ArgumentException>(() => mixer.DrawPartners(wrongLabels));
        Assert.Contains("another dataset", e3.Message);
        Assert.Throws<ArgumentException>(() => mixer.EnsureMatches(other));
        Assert.Throws<ArgumentException>(() => mixer.Coefficients(plan, [0.5], batch.Inputs));
    }

    [Fact]
    public void A_batch_of_a_subset_or_view_of_another_size_is_refused_at_the_door()
    {
        var (ds, partition) = TwoSided(5, 2, (y, s) => y);
        using var _ = ds;
        var mixer = new ClassConditionalMixer(partition, new Random(0));
        // the first 12 samples: indices 0..11 are in range and their labels agree, but they index the subset
        using var subset = new SubsetView(ds, Enumerable.Range(0, 12).Select(i => (long)i).ToArray());
        using var batch = subset.GetBatch([0, 5, 11]);
        var ex = Assert.Throws<ArgumentException>(() => mixer.DrawPartners(batch));
        Assert.Equal("batch", ex.ParamName);
        Assert.Contains("a dataset of 12 samples (SubsetView) but the group assignment covers 20", ex.Message);
        Assert.Equal(0, mixer.Statistics.Mixed + mixer.Statistics.Unmixed);   // nothing counted
        // a view of the same dataset and size is the same index space, and is accepted
        using var view = new UngroupedView(ds);
        using var same = view.GetBatch([0, 5, 11]);
        Assert.Equal(3, mixer.DrawPartners(same).PartnerIndices.Length);
    }

    [Fact]
    public void EndEpoch_twice_is_refused_and_the_epoch_does_not_advance()
    {
        var (ds, partition) = TwoSided(5, 2, (y, s) => y);
        using var _ = ds;
        var mixer = new ClassConditionalMixer(partition, new Random(0));
        Assert.Contains("epoch 1 has no draws", Assert.Throws<InvalidOperationException>(() => mixer.EndEpoch()).Message);
        using var batch = ds.GetBatch([0, 1, 2]);
        var plan = mixer.DrawPartners(batch);
        using var partners = ds.GetBatch(plan.PartnerIndices);
        using (mixer.Mix(batch, partners, plan, 0.5)) { }
        Assert.Equal(1, mixer.EndEpoch().Epoch);
        var ex = Assert.Throws<InvalidOperationException>(() => mixer.EndEpoch());
        Assert.Contains("EndEpoch was called twice", ex.Message);
        Assert.Equal(2, mixer.Epoch);
    }

    [Fact]
    public void Jm1_plus_composes_mixing_with_jtt_upsampling()
    {
        var (ds, partition) = TwoSided(25, 2, (y, s) => y);
        using var _ = ds;
        var jtt = new JttReweighter(partition, lambda: 2, seed: 1);
        var mixer = new ClassConditionalMixer(partition, new ReproducibleRandom(2));
        long rows = 0;
        foreach (var batch in ds.Batches(jtt, batchSize: 16))
        {
            using var scope = NewDisposeScope();
            var plan = mixer.DrawPartners(batch);
            using var partners = ds.GetBatch(plan.PartnerIndices);
            var mixed = mixer.Mix(batch, partners, plan, 0.5);
            Assert.Equal(batch.Inputs.shape, mixed.shape);
            rows += batch.Size;
        }
        Assert.Equal(jtt.EpochLength, rows);
        Assert.Equal(100 + 2 * 50, mixer.EndEpoch().Mixed);
    }

    private sealed class FloatTolerance(float tol) : IEqualityComparer<float>
    {
        public bool Equals(float x, float y) => Math.Abs(x - y) <= tol;

        public int GetHashCode(float obj) => 0;
    }

    [Fact]
    public void Float64_inputs_mix_with_float64_weights()
    {
        using var ds = Tiny.Dataset([0, 0, 1, 1], [0, 1, 0, 1]);
        var groups = GroupRobust.Identification.GroupAssignment.FromTrueGroups(ds);
        var mixer = new ClassConditionalMixer(groups, new Random(0), orientation: AlphaOrientation.MinorityWeight);
        using var scope = NewDisposeScope();
        var plan = mixer.DrawPartners([0L]);          // (y=0, a=0) is the majority side here: its weight is 1 - alpha
        var x = torch.tensor(new[] { 1.0 }, ScalarType.Float64).reshape(1, 1);
        var p = torch.tensor(new[] { 0.0 }, ScalarType.Float64).reshape(1, 1);
        const double alpha = 0.1234567890123;
        var mixed = mixer.Mix(x, p, plan, alpha).item<double>();
        Assert.Equal(1 - alpha, mixed, 15);            // float32 weights would be off in the 8th digit
    }
}
