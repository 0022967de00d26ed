using GroupRobust.Data;
using TorchSharp;
using static TorchSharp.torch;

namespace GroupRobust.Tests.Data;

public class SyntheticGaussianDatasetTests
{
    [Fact]
    public void Train_has_the_specified_minority_fraction_and_test_is_balanced()
    {
        using var splits = SyntheticGaussianDataset.Create(new SyntheticGaussianOptions { TrainSize = 2000, TestSize = 1000, ValidationSize = 400, MinorityFraction = 0.1, Seed = 3 });
        Assert.Equal(new long[] { 900, 100, 100, 900 }, splits.TrainGroupCounts());
        Assert.Equal(new long[] { 250, 250, 250, 250 }, GroupCounts.Of(splits.Test));
        Assert.Equal(new long[] { 100, 100, 100, 100 }, GroupCounts.Of(splits.Validation));
    }

    [Fact]
    public void Group_means_are_c_and_y_with_noise_sigma()
    {
        using var splits = SyntheticGaussianDataset.Create(new SyntheticGaussianOptions { TrainSize = 8000, MinorityFraction = 0.5, Dimensions = 3, Sigma = 0.5, Seed = 1 });
        var train = (TensorGroupDataset)splits.Train;
        using var scope = NewDisposeScope();
        var groups = torch.tensor(train.Groups.ToArray());
        for (int g = 0; g < 4; g++)
        {
            var rows = train.Inputs.index_select(0, groups.eq(g).nonzero().squeeze(1));
            var mean = rows.mean([0]).data<float>().ToArray();
            var std = rows.std(0).data<float>().ToArray();
            Assert.Equal(g % 2, mean[0], 1e-1);        // c
            Assert.Equal(g / 2, mean[1], 1e-1);        // y
            Assert.Equal(0, mean[2], 1e-1);            // noise dimension
            Assert.All(std, s => Assert.InRange(s, 0.45f, 0.55f));
        }
    }

    [Fact]
    public void Same_seed_same_data()
    {
        using var a = SyntheticGaussianDataset.Create(new SyntheticGaussianOptions { Seed = 7, TrainSize = 100 });
        using var b = SyntheticGaussianDataset.Create(new SyntheticGaussianOptions { Seed = 7, TrainSize = 100 });
        using var c = SyntheticGaussianDataset.Create(new SyntheticGaussianOptions { Seed = 8, TrainSize = 100 });
        Assert.True(((TensorGroupDataset)a.Train).Inputs.allclose(((TensorGroupDataset)b.Train).Inputs, 0, 0));
        Assert.False(((TensorGroupDataset)a.Train).Inputs.allclose(((TensorGroupDataset)c.Train).Inputs, 0, 0));
    }

    [Fact]
    public void Options_are_validated()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => SyntheticGaussianDataset.Create(new SyntheticGaussianOptions { MinorityFraction = 0.7 }));
        Assert.Throws<ArgumentOutOfRangeException>(() => SyntheticGaussianDataset.Create(new SyntheticGaussianOptions { Dimensions = 1 }));
        Assert.Throws<ArgumentOutOfRangeException>(() => SyntheticGaussianDataset.Create(new SyntheticGaussianOptions { Sigma = 0 }));
    }
}
