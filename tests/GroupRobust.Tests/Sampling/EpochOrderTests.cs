using GroupRobust.Groups;
using GroupRobust.Identification;
using GroupRobust.Methods;
using GroupRobust.Randomness;
using GroupRobust.Sampling;
using GroupRobust.Tests.Methods;

namespace GroupRobust.Tests.Sampling;

public class EpochOrderTests
{
    [Fact]
    public void Orders_build_their_samplers_and_state_the_labels_they_read()
    {
        using var data = MethodFactory.Data(100);
        var truth = GroupAssignment.FromTrueGroups(data.Train);
        var errorSet = GroupAssignment.FromErrorSet(Enumerable.Range(0, 100).Select(i => i % 5 == 0).ToArray(), data.Train, "test");
        Assert.IsType<ShuffleSampler>(EpochOrder.Shuffled.CreateSampler(100, 1));
        Assert.Equal(LabelBudget.None, EpochOrder.Shuffled.LabelBudget);
        Assert.Equal(LabelBudget.TrainingGroups, EpochOrder.GroupBalanced(truth).LabelBudget);
        Assert.Equal(LabelBudget.None, EpochOrder.GroupBalanced(errorSet).LabelBudget);
        Assert.Equal("group-balanced", EpochOrder.GroupBalanced(truth).Description);
        var jtt = (JttReweighter)EpochOrder.Upsampled(errorSet, 3).CreateSampler(100, 1);
        Assert.Equal(100 + 3 * 20, jtt.EpochLength);
        // the same order through ERM: the method's budget includes its order's, and its name says which order
        using var erm = new ErmMethod(data.Train, new SeedSource(0), new ErmOptions { Order = EpochOrder.GroupBalanced(truth) });
        Assert.Equal(LabelBudget.TrainingGroups, erm.LabelBudget);
        Assert.Equal("ERM (group-balanced)", erm.Name);
    }

    [Fact]
    public void Bad_orders_are_refused_naming_the_argument()
    {
        using var data = MethodFactory.Data(100);
        var errorSet = GroupAssignment.FromErrorSet(Enumerable.Range(0, 100).Select(i => i % 5 == 0).ToArray(), data.Train, "test");
        Assert.Equal("lambda", Assert.Throws<ArgumentOutOfRangeException>(() => EpochOrder.Upsampled(errorSet, -2)).ParamName);
        Assert.Throws<ArgumentNullException>(() => EpochOrder.GroupBalanced(null!));
        var ex = Assert.Throws<ArgumentException>(() => EpochOrder.GroupBalanced(errorSet).CreateSampler(99, 1));
        Assert.Contains("index 100 samples but the training split has 99", ex.Message);
        using var other = MethodFactory.Data(80);
        var foreign = Assert.Throws<ArgumentException>(() => new ErmMethod(other.Train, new SeedSource(0), new ErmOptions { Order = EpochOrder.GroupBalanced(errorSet) }));
        Assert.Equal("options", foreign.ParamName);
        Assert.Contains("indexes 100 samples but the dataset has 80", foreign.Message);
        // the same size with other labels is another split too
        using var relabelled = GroupRobust.Data.SyntheticGaussianDataset.Create(new GroupRobust.Data.SyntheticGaussianOptions { TrainSize = 100, ValidationSize = 20, TestSize = 20, SpuriousScale = 3, Seed = 9 });
        Assert.Equal("options", Assert.Throws<ArgumentException>(() => new MixupMethod(relabelled.Train, new SeedSource(0), new MixupOptions { Order = EpochOrder.Upsampled(errorSet, 3) })).ParamName);
    }
}
