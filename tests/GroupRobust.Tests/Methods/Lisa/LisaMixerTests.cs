using GroupRobust.Data;
using GroupRobust.Groups;
using GroupRobust.Identification;
using GroupRobust.Mixing;
using GroupRobust.Randomness;
using GroupRobust.Tests.Identification;
using GroupRobust.Tests.TestSupport;
using Microsoft.Extensions.Logging;
using TorchSharp;
using static TorchSharp.torch;
using GroupRobust.Methods;

namespace GroupRobust.Tests.Methods;

public class LisaMixerTests
{
    /// <summary>A Tiny dataset with <paramref name="sizes"/>[g] samples in group g = y * K + k (K domains), interleaved.</summary>
    private static TensorGroupDataset Grouped(int classes, int domains, int[] sizes)
    {
        var labels = new List<int>();
        var attributes = new List<int>();
        var left = sizes.ToArray();
        while (left.Any(s => s > 0))
            for (int g = 0; g < left.Length; g++)
            {
                if (left[g] == 0) continue;
                left[g]--;
                labels.Add(g / domains);
                attributes.Add(g % domains);
            }
        return Tiny.Dataset([.. labels], [.. attributes], new GroupScheme(classes, domains));
    }

    [Theory]
    [InlineData(2, 2, 0.5)]
    [InlineData(2, 2, 0.2)]
    [InlineData(3, 3, 0.5)]
    [InlineData(3, 3, 0.2)]
    public void Pairs_obey_the_strategy_strategies_follow_p_sel_and_partners_are_uniform(int classes, int domains, double pSel)
    {
        int groupsCount = classes * domains;
        var sizes = Enumerable.Range(0, groupsCount).Select(g => 3 + 2 * g).ToArray();   // unequal groups: 3, 5, 7, ...
        using var ds = Grouped(classes, domains, sizes);
        var groups = GroupAssignment.FromTrueGroups(ds);
        var mixer = new LisaMixer(groups, new ReproducibleRandom(17), pSel);
        using var batch = ds.GetBatch([.. Enumerable.Range(0, ds.Count).Select(i => (long)i)]);
        const int calls = 3000;
        int intraLabel = 0;
        // partner-group counts per (own group, strategy), and partner-member counts per partner group
        var groupCounts = new long[2, groupsCount, groupsCount];
        var memberCounts = new long[ds.Count];
        for (int t = 0; t < calls; t++)
        {
            var plan = mixer.DrawPartners(batch);
            var strategy = mixer.LastStrategy!.Value;
            if (strategy == LisaStrategy.IntraLabel) intraLabel++;
            Assert.Equal(ds.Count, plan.Count);
            for (int i = 0; i < plan.Count; i++)
            {
                long p = plan.PartnerIndices[i];
                Assert.True(plan.Mixed[i]);
                int g = groups.GroupOf(i), h = groups.GroupOf(p);
                bool sameLabel = g / domains == h / domains, sameDomain = g % domains == h % domains;
                if (strategy == LisaStrategy.IntraLabel) Assert.True(sameLabel && !sameDomain, $"intra-label pair {i} (group {g}) - {p} (group {h})");
                else Assert.True(sameDomain && !sameLabel, $"intra-domain pair {i} (group {g}) - {p} (group {h})");
                Assert.Equal(groups.IsMinority(i), plan.OnMinoritySide[i]);
                groupCounts[(int)strategy, g, h]++;
                memberCounts[p]++;
            }
        }
        Assert.Equal((intraLabel, calls - intraLabel), mixer.StrategyCounts);
        double fraction = intraLabel / (double)calls, se = Math.Sqrt(pSel * (1 - pSel) / calls);
        Assert.True(Math.Abs(fraction - pSel) < 4 * se, $"intra-label fraction {fraction:F4}, p_sel {pSel}, SE {se:F4}");

        // the partner group is uniform over the allowed groups: each count within 4.5 binomial SEs of its expectation
        for (int s = 0; s < 2; s++)
            for (int g = 0; g < groupsCount; g++)
            {
                var allowed = Enumerable.Range(0, groupsCount).Where(h => h != g && (s == 0 ? h / domains == g / domains : h % domains == g % domains)).ToArray();
                Assert.Equal(s == 0 ? domains - 1 : classes - 1, allowed.Length);
                long total = Enumerable.Range(0, groupsCount).Sum(h => groupCounts[s, g, h]);
                Assert.Equal(total, allowed.Sum(h => groupCounts[s, g, h]));
                Assert.True(total > 0);
                double prob = 1.0 / allowed.Length, expected = total * prob, sd = Math.Sqrt(total * prob * (1 - prob));
                foreach (var h in allowed)
                    Assert.True(allowed.Length == 1 || Math.Abs(groupCounts[s, g, h] - expected) < 4.5 * sd,
                        $"strategy {(LisaStrategy)s}, group {g} -> {h}: {groupCounts[s, g, h]} draws, expected {expected:F0} +- {sd:F0}");
            }

        // within the chosen group the member is uniform: members' partner counts match (times the group was drawn) / n_h
        for (int h = 0; h < groupsCount; h++)
        {
            var members = groups.MembersOf(h).ToArray();
            long drawn = Enumerable.Range(0, groupsCount).Sum(g => groupCounts[0, g, h] + groupCounts[1, g, h]);
            double prob = 1.0 / members.Length, expected = drawn * prob, sd = Math.Sqrt(drawn * prob * (1 - prob));
            foreach (var m in members)
                Assert.True(Math.Abs(memberCounts[m] - expected) < 4.5 * sd, $"member {m} of group {h}: {memberCounts[m]} times, expected {expected:F0} +- {sd:F0}");
        }

        Assert.Equal(calls * (long)ds.Count, mixer.Statistics.Mixed);
        Assert.Equal(0, mixer.Statistics.Unmixed);
        var stats = mixer.EndEpoch();
        Assert.Equal(calls * (long)ds.Count, stats.Mixed);
        Assert.Equal((0L, 0L), mixer.StrategyCounts);
        Assert.Equal(0, mixer.Statistics.Mixed);
    }

    [Fact]
    public void Extreme_selection_probabilities_use_one_strategy_only()
    {
        using var ds = Grouped(2, 2, [4, 3, 3, 4]);
        var groups = GroupAssignment.FromTrueGroups(ds);
        using var batch = ds.GetBatch([0, 1, 2, 3, 4, 5]);
        var always = new LisaMixer(groups, new ReproducibleRandom(1), 1.0);
        var never = new LisaMixer(groups, new ReproducibleRandom(1), 0.0);
        for (int t = 0; t < 200; t++)
        {
            always.DrawPartners(batch);
            never.DrawPartners(batch);
            Assert.Equal(LisaStrategy.IntraLabel, always.LastStrategy);
            Assert.Equal(LisaStrategy.IntraDomain, never.LastStrategy);
        }
        Assert.Equal((200L, 0L), always.StrategyCounts);
        Assert.Equal((0L, 200L), never.StrategyCounts);
        Assert.Null(new LisaMixer(groups, new Random(0)).LastStrategy);
    }

    [Fact]
    public void Empty_groups_are_never_drawn_and_groups_without_a_partner_stay_unmixed_and_are_counted()
    {
        // groups 0 (y0, a0), 1 (y0, a1), 2 (y1, a0); group 3 (y1, a1) is empty
        using var ds = Tiny.Dataset([0, 0, 1, 0, 0, 1], [0, 1, 0, 0, 1, 0]);
        var groups = GroupAssignment.FromTrueGroups(ds);
        Assert.Equal(0, groups.GroupCounts()[3]);
        var logger = new ListLogger();
        var mixer = new LisaMixer(groups, new ReproducibleRandom(3), 0.5, logger);
        Assert.Contains(logger.Messages, m => m.Contains("group 2 (2 samples) has no other domain of its label"));
        Assert.Contains(logger.Messages, m => m.Contains("group 1 (2 samples) has no other label in its domain"));
        Assert.Equal(2, logger.Levels.Count(l => l == LogLevel.Warning));

        long[] idx = [0, 1, 2, 3, 4, 5];
        // intra-label: group 2 (indices 2, 5) has no (y1, a1) partner
        var label = mixer.DrawPartners(idx, LisaStrategy.IntraLabel);
        Assert.Equal(new[] { true, true, false, true, true, false }, label.Mixed);
        Assert.Equal(2, label.PartnerIndices[2]);
        Assert.Equal(5, label.PartnerIndices[5]);
        foreach (var i in new[] { 0, 3 }) Assert.Contains(label.PartnerIndices[i], new long[] { 1, 4 });
        foreach (var i in new[] { 1, 4 }) Assert.Contains(label.PartnerIndices[i], new long[] { 0, 3 });
        // intra-domain: group 1 (indices 1, 4) has no (y1, a1) partner
        var domain = mixer.DrawPartners(idx, LisaStrategy.IntraDomain);
        Assert.Equal(new[] { true, false, true, true, false, true }, domain.Mixed);
        Assert.Equal(new long[] { 1, 4 }, new[] { domain.PartnerIndices[1], domain.PartnerIndices[4] });
        foreach (var i in new[] { 0, 3 }) Assert.Contains(domain.PartnerIndices[i], new long[] { 2, 5 });
        foreach (var i in new[] { 2, 5 }) Assert.Contains(domain.PartnerIndices[i], new long[] { 0, 3 });

        Assert.Equal(new long[] { 2, 2 }, mixer.Statistics.UnmixedPerClass);   // class 0: indices 1, 4 (intra-domain); class 1: 2, 5 (intra-label)
        Assert.Equal(new long[] { 6, 2 }, mixer.Statistics.MixedPerClass);
        Assert.Equal(4, mixer.Statistics.Unmixed);
        Assert.Equal((1L, 1L), mixer.StrategyCounts);

        // unmixed rows get weight 1 whatever their lambda
        using var like = torch.zeros(1);
        var c = mixer.Coefficients(label, [0.1, 0.2, 0.3, 0.4, 0.5, 0.6], like).data<float>().ToArray();
        float[] expectedC = [0.1f, 0.2f, 1f, 0.4f, 0.5f, 1f];
        for (int i = 0; i < c.Length; i++) Assert.Equal(expectedC[i], c[i]);
        var stats = mixer.EndEpoch();
        Assert.Equal(4, stats.Unmixed);
        Assert.Equal(4, stats.AlphaDraws);   // only the mixed rows' lambdas count
        Assert.Equal((0.1 + 0.2 + 0.4 + 0.5) / 4, stats.AlphaMean, 12);
        Assert.Contains(logger.Messages, m => m.Contains("1 intra-label and 1 intra-domain batches"));
    }

    [Fact]
    public void Coefficients_are_the_lambdas_on_mixed_rows_whatever_the_side_and_1_elsewhere()
    {
        using var ds = Grouped(2, 2, [6, 2, 2, 6]);
        var groups = GroupAssignment.FromTrueGroups(ds);   // groups 1 and 2 are the minority side
        var mixer = new LisaMixer(groups, new ReproducibleRandom(0));
        long[] idx = [0, 1, 2, 3, 4, 5, 6, 7];
        var plan = mixer.DrawPartners(idx, LisaStrategy.IntraLabel);
        Assert.Contains(true, plan.OnMinoritySide);
        Assert.Contains(false, plan.OnMinoritySide);
        double[] lambdas = [0.05, 0.95, 0.5, 0.25, 0, 1, 0.7, 0.3];
        using var like = torch.zeros(1, ScalarType.Float64);
        var c = mixer.Coefficients(plan, lambdas, like);
        Assert.Equal(ScalarType.Float64, c.dtype);
        Assert.Equal(lambdas, c.data<double>().ToArray());
        // one alpha for the batch: c = alpha on every mixed row (no minority orientation)
        Assert.All(mixer.Coefficients(plan, 0.3, like).data<double>().ToArray(), v => Assert.Equal(0.3, v));
        using var half = torch.zeros(1, ScalarType.Float16);
        Assert.Equal(ScalarType.Float16, mixer.Coefficients(plan, lambdas, half).dtype);
    }

    [Fact]
    public void Invalid_arguments_are_rejected_at_the_methods_door()
    {
        using var ds = Grouped(2, 2, [4, 3, 3, 4]);
        var groups = GroupAssignment.FromTrueGroups(ds);
        foreach (var p in new[] { -0.01, 1.01, double.NaN, double.PositiveInfinity })
            Assert.Equal("SelectionProbability", Assert.Throws<ArgumentOutOfRangeException>(() => new LisaMethod(ds, groups, new SeedSource(0), new LisaOptions { SelectionProbability = p })).ParamName);

        // one domain: intra-label mixing has no partner anywhere (allowed only with p_sel = 0)
        var labels = ds.Labels.ToArray();
        var oneDomain = GroupAssignment.FromInferred(new int[ds.Count], labels, 2, 1, [], "one-domain");
        var e1 = Assert.Throws<ArgumentException>(() => new LisaMethod(ds, oneDomain, new SeedSource(0)));
        Assert.Equal("groups", e1.ParamName);
        Assert.Contains("at least two domains", e1.Message);
        Assert.Throws<ArgumentException>(() => new LisaMethod(ds, oneDomain, new SeedSource(0), new LisaOptions { SelectionProbability = 1.0 }));
        using (new LisaMethod(ds, oneDomain, new SeedSource(0), new LisaOptions { SelectionProbability = 0.0, GroupBalancedSampling = false })) { }
        var domainOnly = new LisaMixer(oneDomain, new Random(0), 0.0);
        Assert.Equal(ds.Count, domainOnly.DrawPartners([.. Enumerable.Range(0, ds.Count).Select(i => (long)i)], LisaStrategy.IntraDomain).MixedCount);
        // (a one-class assignment, the other case the method guards, cannot be built: a GroupScheme needs two classes)

        var mixer = new LisaMixer(groups, new Random(0));
        // a batch of another dataset with other labels at the same indices
        using var other = Tiny.Dataset([1, 1, 0, 0], [0, 1, 0, 1]);
        using var foreign = other.GetBatch([0, 1]);
        var e2 = Assert.Throws<ArgumentException>(() => mixer.DrawPartners(foreign));
        Assert.Equal("batch", e2.ParamName);
        Assert.Contains("another dataset", e2.Message);
        Assert.Equal((0L, 0L), mixer.StrategyCounts);
        Assert.Equal(0, mixer.Statistics.Mixed + mixer.Statistics.Unmixed);
    }
}
