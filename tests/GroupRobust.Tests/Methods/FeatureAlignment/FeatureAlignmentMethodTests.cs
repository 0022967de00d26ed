using GroupRobust.Data;
using GroupRobust.Groups;
using GroupRobust.Identification;
using GroupRobust.Methods;
using GroupRobust.Models;
using GroupRobust.Randomness;
using GroupRobust.Tests.TestSupport;
using TorchSharp;
using static TorchSharp.torch;

namespace GroupRobust.Tests.Methods.FeatureAlignment;

public class FeatureAlignmentMethodTests
{
    private static readonly int[] Labels = [0, 0, 1, 1, 0, 1, 0, 1, 0, 1];
    private static readonly int[] Attributes = [0, 1, 0, 1, 0, 0, 0, 1, 1, 0];

    [Theory]
    [InlineData(FeatureKernel.Gaussian)]
    [InlineData(FeatureKernel.MeanCovariance)]
    public void A_declared_encoder_and_head_give_the_loss_of_the_same_network_split_by_its_hook(FeatureKernel kernel)
    {
        using var scope = NewDisposeScope();
        using var data = Tiny.Dataset(Labels, Attributes, GroupScheme.Binary());
        var groups = GroupAssignment.FromTrueGroups(data);
        using var sequential = Tiny.Network(3, 2, 9);
        var lin1 = (TorchSharp.Modules.Linear)sequential.named_modules().First(m => m.name == "lin1").module;
        var fc = (TorchSharp.Modules.Linear)sequential.named_modules().First(m => m.name == "fc").module;
        using var declared = new EncoderClassifier(nn.Sequential(("lin1", lin1), ("act", nn.ReLU())), fc);
        using var hooked = new FeatureAlignmentMethod(groups, new SeedSource(0), new FeatureAlignmentOptions { Kernel = kernel, PenaltyWeight = 3 });
        using var direct = new FeatureAlignmentMethod(groups, new SeedSource(0), new FeatureAlignmentOptions { Kernel = kernel, PenaltyWeight = 3 });
        using var erm = new ErmMethod(data, new SeedSource(0));
        foreach (var m in new ITrainingMethod[] { hooked, direct, erm }) m.BeginEpoch(1, 1);
        foreach (var batch in data.Batches(Enumerable.Range(0, 10).Select(i => (long)i), 10))
        {
            float a = hooked.Loss(sequential, batch).item<float>();
            Assert.Equal(a, direct.Loss(declared, batch).item<float>(), 6);
            Assert.True(a > erm.Loss(sequential, batch).item<float>(), "the penalty of two different environments is positive");
        }
    }

    [Fact]
    public void The_gaussian_mmd_of_two_equal_sets_is_zero_and_the_loss_is_then_the_cross_entropy()
    {
        using var scope = NewDisposeScope();
        // samples 0 and 1 have the same inputs and label but different attributes
        var inputs = torch.tensor(new float[] { 1, 2, 3, 1, 2, 3, -1, 0, 2, -1, 0, 2 }, [4, 3]);
        using var data = new GroupRobust.Data.TensorGroupDataset(inputs, torch.tensor(new long[] { 0, 0, 1, 1 }), GroupScheme.Binary(), torch.tensor(new long[] { 0, 1, 0, 1 }));
        using var method = new FeatureAlignmentMethod(GroupAssignment.FromTrueGroups(data), new SeedSource(0), new FeatureAlignmentOptions { PenaltyWeight = 10 });
        using var erm = new ErmMethod(data, new SeedSource(0));
        using var model = Tiny.Network(3, 2, 10);
        method.BeginEpoch(1, 1);
        erm.BeginEpoch(1, 1);
        foreach (var batch in data.Batches([0L, 1, 2, 3], 4))
            Assert.Equal(erm.Loss(model, batch).item<float>(), method.Loss(model, batch).item<float>(), 5);
    }

    [Fact]
    public void With_coral_an_environment_with_one_row_takes_no_part_and_the_loss_stays_finite()
    {
        using var scope = NewDisposeScope();
        using var data = Tiny.Dataset(Labels, Attributes, GroupScheme.Binary());
        using var method = new FeatureAlignmentMethod(GroupAssignment.FromTrueGroups(data), new SeedSource(0), new FeatureAlignmentOptions { Kernel = FeatureKernel.MeanCovariance });
        using var erm = new ErmMethod(data, new SeedSource(0));
        using var model = Tiny.Network(3, 2, 11);
        method.BeginEpoch(1, 1);
        erm.BeginEpoch(1, 1);
        foreach (var batch in data.Batches([0L, 2, 4, 1], 4))   // attribute 1 once: only one environment is left, no pair
            Assert.Equal(erm.Loss(model, batch).item<float>(), method.Loss(model, batch).item<float>(), 6);
    }

    [Theory]
    [InlineData(-0.1)]
    [InlineData(double.NaN)]
    [InlineData(double.PositiveInfinity)]
    public void A_negative_or_non_finite_penalty_weight_is_refused(double weight)
    {
        using var data = Tiny.Dataset(Labels, Attributes, GroupScheme.Binary());
        var ex = Assert.Throws<ArgumentOutOfRangeException>(() => new FeatureAlignmentMethod(GroupAssignment.FromTrueGroups(data), new SeedSource(0), new FeatureAlignmentOptions { PenaltyWeight = weight }));
        Assert.Equal("options", ex.ParamName);
        Assert.Contains("PenaltyWeight", ex.Message);
    }

    [Fact]
    public void An_undefined_kernel_is_refused()
    {
        using var data = Tiny.Dataset(Labels, Attributes, GroupScheme.Binary());
        var ex = Assert.Throws<ArgumentOutOfRangeException>(() => new FeatureAlignmentMethod(GroupAssignment.FromTrueGroups(data), new SeedSource(0), new FeatureAlignmentOptions { Kernel = (FeatureKernel)5 }));
        Assert.Equal("options", ex.ParamName);
        Assert.Contains("Gaussian", ex.Message);
    }
}
