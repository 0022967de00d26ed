using GroupRobust.Groups;
using GroupRobust.Identification;
using GroupRobust.Methods;
using GroupRobust.Randomness;
using GroupRobust.Tests.TestSupport;

namespace GroupRobust.Tests.Methods.Spare;

public class SpareMethodTests
{
    // class 0: clusters of 12, 6 and 2 samples; class 1: clusters of 16 and 4
    private static readonly int[] Labels = [.. Enumerable.Repeat(0, 20), .. Enumerable.Repeat(1, 20)];
    private static readonly int[] Values = [.. Enumerable.Repeat(0, 12), .. Enumerable.Repeat(1, 6), .. Enumerable.Repeat(2, 2), .. Enumerable.Repeat(0, 16), .. Enumerable.Repeat(1, 4)];

    private static GroupAssignment Clusters(string? silhouettes) => GroupAssignment.FromInferred(Values, Labels, 2, 3, [1, 2, 4, 5], "spare",
        parameters: silhouettes is null ? null : new Dictionary<string, string> { ["silhouettePerClass"] = silhouettes });

    [Fact]
    public void A_class_below_the_silhouette_threshold_gets_the_high_power_and_the_others_power_one()
    {
        using var method = new SpareMethod(Clusters("0.950,0.412"), new SeedSource(0));
        Assert.Equal([1.0, 2.0], method.SamplingPowers);
        Assert.Equal("SPARE", method.Name);
        Assert.Equal(LabelBudget.None, method.LabelBudget);
        using var strict = new SpareMethod(Clusters("0.950,0.412"), new SeedSource(0), new SpareSamplingOptions { SilhouetteThreshold = 0.99, HighSamplingPower = 3 });
        Assert.Equal([3.0, 3.0], strict.SamplingPowers);
        // a power other than the default is in the name, so the runs of the published grid are told apart
        Assert.Equal("SPARE (p=3)", strict.Name);
        Assert.Equal(["SPARE (p=1)", "SPARE", "SPARE (p=3)"], SpareSamplingOptions.SearchGrid.Select(o =>
        {
            using var m = new SpareMethod(Clusters("0.950,0.412"), new SeedSource(0), o);
            return m.Name;
        }));
    }

    [Theory]
    [InlineData(1.0, 2.0)]
    [InlineData(2.0, 1.0)]
    [InlineData(0.0, 0.0)]
    public void Draws_follow_one_over_the_cluster_size_to_the_power_with_every_class_the_same_total(double p0, double p1)
    {
        double[] powers = [p0, p1];
        var groups = Clusters(null);
        var sampler = new SpareSampler(groups, powers, seed: 11);
        var counts = new double[Labels.Length];
        const int epochs = 400;
        for (int e = 1; e <= epochs; e++)
            foreach (var i in sampler.IndicesForEpoch(e)) counts[i]++;
        double draws = epochs * Labels.Length;
        int[][] sizes = [[12, 6, 2], [16, 4]];
        for (int i = 0; i < Labels.Length; i++)
        {
            int y = Labels[i];
            double mass = sizes[y].Sum(s => Math.Pow(s, 1 - powers[y]));
            double expected = 0.5 * Math.Pow(sizes[y][Values[i]], -powers[y]) / mass;
            // binomial standard error of 16,000 draws, at most 5 of them
            double se = Math.Sqrt(expected * (1 - expected) / draws);
            Assert.True(Math.Abs(counts[i] / draws - expected) < 5 * se, $"sample {i}: {counts[i] / draws:F5} drawn, {expected:F5} expected (p = {powers[y]})");
        }
    }

    [Fact]
    public void The_same_seed_gives_the_same_epochs_and_another_seed_others()
    {
        var groups = Clusters("0.5,0.5");
        var a = new SpareSampler(groups, [2.0, 2.0], 3).IndicesForEpoch(2);
        Assert.Equal(a, new SpareSampler(groups, [2.0, 2.0], 3).IndicesForEpoch(2));
        Assert.NotEqual(a, new SpareSampler(groups, [2.0, 2.0], 4).IndicesForEpoch(2));
        Assert.Equal(Labels.Length, a.Length);
    }

    [Fact]
    public void Groups_without_silhouettes_use_the_fallback_power_and_true_groups_read_training_labels()
    {
        using var method = new SpareMethod(GroupAssignment.FromInferred(Values, Labels, 2, 3, [1, 2, 4, 5], "eiil"), new SeedSource(0), new SpareSamplingOptions { PowerWithoutSilhouettes = 0.5 });
        Assert.Equal([0.5, 0.5], method.SamplingPowers);
        Assert.Equal("SPARE sampling (eiil groups, p=0.5)", method.Name);
        using (var plain = new SpareMethod(GroupAssignment.FromInferred(Values, Labels, 2, 3, [1, 2, 4, 5], "eiil"), new SeedSource(0), new SpareSamplingOptions { HighSamplingPower = 3 }))
            Assert.Equal("SPARE sampling (eiil groups)", plain.Name);   // the high power applies to clusters with silhouettes only
        // the published grid varies the power in use on groups without silhouettes too
        Assert.Equal(["SPARE sampling (eiil groups)", "SPARE sampling (eiil groups, p=2)", "SPARE sampling (eiil groups, p=3)"], SpareSamplingOptions.SearchGrid.Select(o =>
        {
            using var m = new SpareMethod(GroupAssignment.FromInferred(Values, Labels, 2, 3, [1, 2, 4, 5], "eiil"), new SeedSource(0), o);
            return m.Name;
        }));
        using var data = Tiny.Dataset(Labels, Values.Select(v => Math.Min(v, 1)).ToArray());
        using var onTrue = new SpareMethod(GroupAssignment.FromTrueGroups(data), new SeedSource(0));
        Assert.Equal(LabelBudget.TrainingGroups, onTrue.LabelBudget);
    }

    [Theory]
    [InlineData("0.5")]
    [InlineData("0.5,abc")]
    [InlineData("0.5,1.5")]
    public void Silhouettes_that_are_not_one_number_in_range_per_class_are_refused(string silhouettes)
    {
        var ex = Assert.Throws<ArgumentException>(() => new SpareMethod(Clusters(silhouettes), new SeedSource(0)));
        Assert.Equal("groups", ex.ParamName);
        Assert.Contains("silhouettePerClass", ex.Message);
    }

    [Theory]
    [InlineData(1.5, 2, 1)]
    [InlineData(0.9, -1, 1)]
    [InlineData(0.9, 2, 9)]
    [InlineData(double.NaN, 2, 1)]
    public void Options_out_of_range_are_refused(double threshold, double high, double fallback)
    {
        var ex = Assert.Throws<ArgumentOutOfRangeException>(() => new SpareMethod(Clusters(null), new SeedSource(0),
            new SpareSamplingOptions { SilhouetteThreshold = threshold, HighSamplingPower = high, PowerWithoutSilhouettes = fallback }));
        Assert.Equal("options", ex.ParamName);
        Assert.Contains("SpareSamplingOptions.", ex.Message);
    }
}
