using GroupRobust.Data;
using GroupRobust.Groups;
using GroupRobust.Identification;
using GroupRobust.Methods;
using GroupRobust.Randomness;
using GroupRobust.Tests.TestSupport;
using TorchSharp;
using static TorchSharp.torch;

namespace GroupRobust.Tests.Methods.Reweight;

public class ReweightMethodTests
{
    private static readonly long[] Sizes = [8, 2, 5, 1, 6, 2];

    [Fact]
    public void Inverse_size_weights_give_every_group_the_same_total_and_sum_to_the_number_of_groups()
    {
        var w = ReweightMethod.Weights(Sizes, new ReweightOptions());
        Assert.Equal(Sizes.Length, w.Sum(), 12);
        for (int g = 0; g < Sizes.Length; g++) Assert.Equal(w[0] * Sizes[0], w[g] * Sizes[g], 12);
    }

    [Fact]
    public void Square_root_weights_scale_as_one_over_the_root_of_the_size()
    {
        var w = ReweightMethod.Weights(Sizes, new ReweightOptions { Weighting = GroupWeighting.InverseSquareRootSize });
        Assert.Equal(Sizes.Length, w.Sum(), 12);
        for (int g = 0; g < Sizes.Length; g++) Assert.Equal(w[0] * Math.Sqrt(Sizes[0]), w[g] * Math.Sqrt(Sizes[g]), 12);
    }

    [Fact]
    public void Effective_number_weights_go_from_erm_to_inverse_size_as_beta_goes_from_0_to_1()
    {
        var nearZero = ReweightMethod.Weights(Sizes, new ReweightOptions { Weighting = GroupWeighting.EffectiveNumber, Beta = 1e-9 });
        Assert.All(nearZero, v => Assert.Equal(1, v, 6));
        var nearOne = ReweightMethod.Weights(Sizes, new ReweightOptions { Weighting = GroupWeighting.EffectiveNumber, Beta = 1 - 1e-9 });
        var inverse = ReweightMethod.Weights(Sizes, new ReweightOptions());
        for (int g = 0; g < Sizes.Length; g++) Assert.Equal(inverse[g], nearOne[g], 5);
        // beta = 0.9: (1 - 0.9) / (1 - 0.9^n), normalised
        var mid = ReweightMethod.Weights([1, 3], new ReweightOptions { Weighting = GroupWeighting.EffectiveNumber, Beta = 0.9 });
        double a = 0.1 / 0.1, b = 0.1 / (1 - 0.729);
        Assert.Equal(2 * a / (a + b), mid[0], 12);
        Assert.Equal(2 * b / (a + b), mid[1], 12);
    }

    [Theory]
    [InlineData(GroupWeighting.InverseSize)]
    [InlineData(GroupWeighting.InverseSquareRootSize)]
    [InlineData(GroupWeighting.EffectiveNumber)]
    public void An_empty_group_weighs_nothing_and_equal_groups_weigh_one(GroupWeighting rule)
    {
        var w = ReweightMethod.Weights([4, 0, 2, 2], new ReweightOptions { Weighting = rule });
        Assert.Equal(0, w[1]);
        Assert.Equal(4, w.Sum(), 12);
        Assert.All(ReweightMethod.Weights([5, 5, 5], new ReweightOptions { Weighting = rule }), v => Assert.Equal(1, v, 12));
    }

    [Fact]
    public void The_batch_loss_is_the_mean_of_the_group_weighted_cross_entropies()
    {
        using var scope = NewDisposeScope();
        int[] labels = [0, 0, 0, 0, 1, 1, 1, 1, 2, 2];
        int[] attributes = [0, 0, 0, 1, 0, 1, 1, 1, 0, 1];
        using var data = Tiny.Dataset(labels, attributes, new GroupScheme(3, 2));
        using var method = new ReweightMethod(GroupAssignment.FromTrueGroups(data), new SeedSource(0));
        using var model = Tiny.Network(3, 3, 1);
        method.BeginEpoch(1, 1);
        long[] order = [9, 3, 0, 5, 4];
        foreach (var batch in data.Batches(order, order.Length))
        {
            var loss = method.Loss(model, batch).item<float>();
            var ce = nn.functional.cross_entropy(model.call(batch.Inputs), batch.Labels, reduction: nn.Reduction.None).data<float>().ToArray();
            double expected = order.Select((i, r) => method.GroupWeights[labels[i] * 2 + attributes[i]] * ce[r]).Average();
            Assert.Equal(expected, loss, 5);
        }
        method.EndEpoch();
    }

    [Fact]
    public void True_groups_read_training_group_labels_and_an_error_set_reads_none()
    {
        using (var grouped = Tiny.Dataset([0, 0, 1, 1], [0, 1, 0, 1]))
        {
            using var onTrue = new ReweightMethod(GroupAssignment.FromTrueGroups(grouped), new SeedSource(0));
            Assert.Equal(LabelBudget.TrainingGroups, onTrue.LabelBudget);
            Assert.Equal("ReWeight", onTrue.Name);
        }
        var (data, errorSet) = Tiny.TwoClassesWithErrorSet(40);
        using (data)
        {
            using var onErrors = new ReweightMethod(errorSet, new SeedSource(0), new ReweightOptions { Weighting = GroupWeighting.EffectiveNumber });
            Assert.Equal(LabelBudget.None, onErrors.LabelBudget);
            Assert.Equal("CBLoss (β=0.9999) (test groups)", onErrors.Name);
            // the error set (4 of 20 per class) gets the larger weight
            Assert.True(onErrors.GroupWeights[1] > onErrors.GroupWeights[0]);
        }
    }

    [Theory]
    [InlineData(0.0)]
    [InlineData(1.0)]
    [InlineData(-0.5)]
    [InlineData(double.NaN)]
    public void A_beta_outside_the_open_unit_interval_is_refused(double beta)
    {
        var (data, errorSet) = Tiny.TwoClassesWithErrorSet(40);
        using (data)
        {
            var ex = Assert.Throws<ArgumentOutOfRangeException>(() => new ReweightMethod(errorSet, new SeedSource(0), new ReweightOptions { Beta = beta }));
            Assert.Equal("options", ex.ParamName);
            Assert.Contains("Beta", ex.Message);
        }
    }

    [Fact]
    public void An_undefined_weighting_is_refused()
    {
        var (data, errorSet) = Tiny.TwoClassesWithErrorSet(40);
        using (data)
        {
            var ex = Assert.Throws<ArgumentOutOfRangeException>(() => new ReweightMethod(errorSet, new SeedSource(0), new ReweightOptions { Weighting = (GroupWeighting)7 }));
            Assert.Equal("options", ex.ParamName);
            Assert.Contains("InverseSize", ex.Message);
        }
    }
}
