using GroupRobust.Data.FashionMnist;
using GroupRobust.Tests.TestSupport;

namespace GroupRobust.Tests.Data.FashionMnist;

public class MultiAttributeFashionMnistTests
{
    [Fact]
    public void Every_label_has_its_own_colour_and_minority_groups_of_the_given_sizes_with_balanced_evaluation_splits()
    {
        var options = new MultiAttributeFashionMnistOptions { TrainSize = 3000, ValidationPerGroup = 20, TestPerGroup = 30, Seed = 3 };
        using var splits = MultiAttributeFashionMnist.Build(FashionMnistFixture.Load(), options);
        Assert.Equal(3, splits.Scheme.NumClasses);
        Assert.Equal(3, splits.Scheme.NumAttributes);
        Assert.Equal("(Bag+Ankle boot, green)", splits.Scheme.GroupName(1 * 3 + 2));
        // label y: 90% on colour y, 7% on y + 1, 3% on y + 2 (mod 3), exact counts of its 1000 images
        var counts = splits.TrainGroupCounts();
        for (int y = 0; y < 3; y++)
        {
            Assert.Equal(900, counts[3 * y + y]);
            Assert.Equal(70, counts[3 * y + (y + 1) % 3]);
            Assert.Equal(30, counts[3 * y + (y + 2) % 3]);
        }
        Assert.All(GroupRobust.Data.GroupCounts.Of(splits.Validation), c => Assert.Equal(20, c));
        Assert.All(GroupRobust.Data.GroupCounts.Of(splits.Test), c => Assert.Equal(30, c));
        // deterministic for a seed, another seed draws other images
        using var again = MultiAttributeFashionMnist.Build(FashionMnistFixture.Load(), options);
        Assert.Equal(splits.Train.Labels.ToArray(), again.Train.Labels.ToArray());
        Assert.Equal(splits.Train.Groups.ToArray(), again.Train.Groups.ToArray());
    }

    [Fact]
    public void Bad_options_name_the_option_and_the_value()
    {
        Assert.Equal("AttributeFractions", Assert.Throws<ArgumentException>(() => new MultiAttributeFashionMnistOptions { AttributeFractions = [0.5, 0.3] }.Validate()).ParamName);
        Assert.Contains("largest", Assert.Throws<ArgumentException>(() => new MultiAttributeFashionMnistOptions { AttributeFractions = [0.2, 0.5, 0.3] }.Validate()).Message);
        Assert.Equal("Labels", Assert.Throws<ArgumentException>(() => new MultiAttributeFashionMnistOptions { Labels = [[1, 2], [2, 3]] }.Validate()).ParamName);
        Assert.Equal("Palette", Assert.Throws<ArgumentException>(() => new MultiAttributeFashionMnistOptions { AttributeFractions = [0.9, 0.1] }.Validate()).ParamName);
        Assert.Equal("ColourNames", Assert.Throws<ArgumentException>(() => new MultiAttributeFashionMnistOptions { AttributeFractions = [0.9, 0.1], Palette = [0, 0, 0, 1, 1, 1] }.Validate()).ParamName);
        Assert.Contains("Labels", new MultiAttributeFashionMnistOptions().ToString());
    }
}
