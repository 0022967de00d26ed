using GroupRobust.Identification;
using GroupRobust.Methods;
using GroupRobust.Mixing;
using GroupRobust.Randomness;
using GroupRobust.Sampling;
using GroupRobust.Tests.TestSupport;

namespace GroupRobust.Tests.Methods.Jm1;

/// <summary>Paired batches (<see cref="PartnerSource.Paired"/>): the epoch order that places each anchor next to a partner of its pool.</summary>
public class PairedSamplerTests
{
    [Theory]
    [InlineData(200)]
    [InlineData(201)]
    public void Each_anchor_is_followed_by_a_partner_of_its_pool_and_two_epochs_anchor_every_sample(int n)
    {
        var (data, errorSet) = Tiny.TwoClassesWithErrorSet(n);
        using var _ = data;
        var mixer = new ClassConditionalMixer(errorSet, new Random(1));
        var sampler = new PairedSampler(new ShuffleSampler(n, 5), mixer.PoolOfSample, 6);
        Assert.Equal(n, sampler.EpochLength);
        var anchors = new List<long>();
        for (int epoch = 1; epoch <= 2; epoch++)
        {
            var order = sampler.IndicesForEpoch(epoch);
            Assert.Equal(n, order.Length);
            for (int i = 0; i + 1 < order.Length; i += 2)
            {
                long a = order[i], p = order[i + 1];
                Assert.Equal(errorSet.Labels.Span[(int)a], errorSet.Labels.Span[(int)p]);   // same class
                Assert.NotEqual(errorSet.IsMinority(a), errorSet.IsMinority(p));             // other side
                anchors.Add(a);
            }
            if (order.Length % 2 == 1) anchors.Add(order[^1]);   // the last anchor, its partner cut
        }
        // epochs 1 and 2 split one permutation: every sample anchors once (with an odd count, the middle one twice)
        Assert.Equal(Enumerable.Range(0, n).Select(i => (long)i), anchors.Distinct().Order());
        Assert.Equal(n + n % 2, anchors.Count);
        // about half of the rows are on the small side (a tenth of the data), where a shuffle has a tenth
        var first = sampler.IndicesForEpoch(1);
        double small = first.Count(errorSet.IsMinority) / (double)n;
        Assert.InRange(small, 0.4, 0.6);
        // a pure function of the seed and the epoch; epochs differ
        Assert.Equal(first, sampler.IndicesForEpoch(1));
        Assert.Equal(sampler.IndicesForEpoch(3), new PairedSampler(new ShuffleSampler(n, 5), mixer.PoolOfSample, 6).IndicesForEpoch(3));
        Assert.NotEqual(first, sampler.IndicesForEpoch(3));
    }

    [Fact]
    public void An_anchor_whose_class_is_on_one_side_is_followed_by_a_drawn_row_and_the_epoch_keeps_its_length()
    {
        var labels = Enumerable.Range(0, 100).Select(i => i % 2).ToArray();
        using var data = Tiny.Dataset(labels, null);
        // only class 0 has an error side: class 1 is all on one side, so its anchors have no pool
        var errorSet = GroupAssignment.FromErrorSet(Enumerable.Range(0, 100).Select(i => i % 2 == 0 && i % 10 == 0).ToArray(), data, "test");
        var mixer = new ClassConditionalMixer(errorSet, new Random(1));
        var sampler = new PairedSampler(new ShuffleSampler(100, 5), mixer.PoolOfSample, 6);
        for (int epoch = 1; epoch <= 2; epoch++)
        {
            var order = sampler.IndicesForEpoch(epoch);
            Assert.Equal(100, order.Length);
            Assert.All(order, i => Assert.InRange(i, 0, 99));
            for (int i = 0; i + 1 < order.Length; i += 2)
                if (labels[order[i]] == 0)
                    Assert.NotEqual(errorSet.IsMinority(order[i]), errorSet.IsMinority(order[i + 1]));   // class 0 keeps its pairing
        }
    }

    [Fact]
    public void In_batch_draws_over_paired_batches_find_every_partner_in_the_batch()
    {
        var (data, errorSet) = Tiny.TwoClassesWithErrorSet(200);
        using var _ = data;
        var mixer = new ClassConditionalMixer(errorSet, new Random(1));
        var order = new PairedSampler(new ShuffleSampler(200, 5), mixer.PoolOfSample, 6).IndicesForEpoch(1);
        var partnerCounts = new Dictionary<long, int>();
        foreach (var batch in order.Chunk(16))
        {
            var plan = mixer.DrawPartners(batch, PartnerSource.Paired);
            Assert.Empty(plan.OutsidePartnerIndices);
            for (int i = 0; i < batch.Length; i++)
            {
                long p = plan.PartnerIndices[i];
                Assert.True(plan.Mixed[i]);
                Assert.Equal(errorSet.Labels.Span[(int)batch[i]], errorSet.Labels.Span[(int)p]);
                Assert.NotEqual(errorSet.IsMinority(batch[i]), errorSet.IsMinority(p));
                if (errorSet.IsMinority(p)) partnerCounts[p] = partnerCounts.GetValueOrDefault(p) + 1;
            }
        }
        // the 20 small-side samples serve as partners of the big side's rows; most of them do, not a few
        Assert.True(partnerCounts.Count >= 15, $"{partnerCounts.Count} distinct small-side partners");
    }

    [Fact]
    public void Jm1_with_paired_partners_keeps_its_own_orders_length_and_says_so_in_its_name()
    {
        var (data, errorSet) = Tiny.TwoClassesWithErrorSet(200);
        using var _ = data;
        var paired = Jm1Method.Jm1(data, errorSet, new SeedSource(3), new Jm1Options { Partners = PartnerSource.Paired });
        Assert.Equal("JM1 (input, paired partners)", paired.Name);
        Assert.Equal(200, paired.BeginEpoch(1, 2).Length);
        // JM1+ upsamples the small side (20 samples, lambda 4): its epoch of 280 rows is paired the same way
        var plus = Jm1Method.Jm1Plus(data, errorSet, 4, new SeedSource(3), new Jm1Options { Partners = PartnerSource.Paired });
        var order = plus.BeginEpoch(1, 2);
        Assert.Equal(280, order.Length);
        for (int i = 0; i + 1 < order.Length; i += 2)
            Assert.NotEqual(errorSet.IsMinority(order[i]), errorSet.IsMinority(order[i + 1]));
    }
}
