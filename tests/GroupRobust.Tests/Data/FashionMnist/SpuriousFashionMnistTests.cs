using GroupRobust.Data;
using GroupRobust.Data.FashionMnist;
using GroupRobust.Tests.TestSupport;
using TorchSharp;
using static TorchSharp.torch;

namespace GroupRobust.Tests.Data.FashionMnist;

public class SpuriousFashionMnistTests
{
    private static DatasetSplits Build(SpuriousFashionMnistOptions? o = null) => SpuriousFashionMnist.Build(FashionMnistFixture.Load(), o ?? new SpuriousFashionMnistOptions());

    [Fact]
    public void Real_files_load_with_the_documented_sizes()
    {
        var files = FashionMnistFixture.Load();
        Assert.Equal(60_000, files.TrainImages.Count);
        Assert.Equal(10_000, files.TestLabels.Count);
        Assert.Equal(new[] { 60_000, 28, 28 }, files.TrainImages.Dimensions);
    }

    [Fact]
    public void Training_groups_have_the_specified_correlation_and_evaluation_splits_are_balanced()
    {
        using var splits = Build();
        var train = splits.TrainGroupCounts();
        // 2 classes per label: 12,000 training images per label, minus 1,000 per label for validation
        Assert.Equal(new long[] { 10_450, 550, 550, 10_450 }, train);
        Assert.Equal(0.95, train[0] / (double)(train[0] + train[1]), 1e-6);
        Assert.Equal(new long[] { 500, 500, 500, 500 }, GroupCounts.Of(splits.Validation));
        Assert.Equal(new long[] { 1_000, 1_000, 1_000, 1_000 }, GroupCounts.Of(splits.Test));
        Assert.Equal("(Sandal+Sneaker, blue)", splits.Scheme.GroupName(1));
        using var custom = Build(new SpuriousFashionMnistOptions { Label0Classes = [0, 2, 4, 6], Label1Classes = [5, 7, 8, 9], LabelNames = ["upper-body", "footwear+bags"] });
        Assert.Equal(new long[] { 21_850, 1_150, 1_150, 21_850 }, custom.TrainGroupCounts());
        Assert.Equal("(upper-body, blue)", custom.Scheme.GroupName(1));
    }

    [Fact]
    public void Caps_and_correlation_options_are_honoured()
    {
        using var splits = Build(new SpuriousFashionMnistOptions { TrainSize = 1000, TestSize = 400, ValidationSize = 200, SpuriousCorrelation = 0.9 });
        Assert.Equal(new long[] { 450, 50, 50, 450 }, splits.TrainGroupCounts());
        Assert.Equal(new long[] { 100, 100, 100, 100 }, GroupCounts.Of(splits.Test));
        Assert.Equal(new long[] { 50, 50, 50, 50 }, GroupCounts.Of(splits.Validation));
    }

    [Fact]
    public void Deterministic_for_a_seed()
    {
        var o = new SpuriousFashionMnistOptions { TrainSize = 200, TestSize = 40, ValidationSize = 40 };
        using var a = Build(o);
        using var b = Build(o);
        using var c = Build(o with { Seed = 1 });
        using var scope = NewDisposeScope();
        var idx = Enumerable.Range(0, 40).Select(i => (long)i).ToArray();
        Assert.True(a.Train.GetBatch(idx).Inputs.allclose(b.Train.GetBatch(idx).Inputs, 0, 0));
        Assert.Equal(a.Train.Groups.ToArray(), b.Train.Groups.ToArray());
        Assert.False(a.Train.GetBatch(idx).Inputs.allclose(c.Train.GetBatch(idx).Inputs, 0, 0));
    }

    [Fact]
    public void Batches_are_rgb_with_the_group_colour_as_background()
    {
        using var splits = Build(new SpuriousFashionMnistOptions { TrainSize = 100, TestSize = 40, ValidationSize = 40 });
        using var scope = NewDisposeScope();
        using var batch = splits.Test.GetBatch([0, 1, 2, 3]);
        Assert.Equal(new long[] { 4, 3, 28, 28 }, batch.Inputs.shape);
        var groups = batch.Groups!.data<long>().ToArray();
        var palette = new SpuriousFashionMnistOptions().Palette;
        for (int i = 0; i < 4; i++)
        {
            int colour = (int)(groups[i] % 2);
            // the top-left corner of Fashion-MNIST images is background (0): it shows the colour exactly
            var corner = batch.Inputs[i, .., 0, 0].data<float>().ToArray();
            Assert.Equal(palette.Skip(3 * colour).Take(3), corner, new Tol());
        }
        Assert.True(batch.Inputs.max().item<float>() <= 1f && batch.Inputs.min().item<float>() >= 0f);
    }

    [Fact]
    public void Missing_data_names_the_package()
    {
        var ex = Assert.Throws<FileNotFoundException>(() => SpuriousFashionMnist.Load(new SpuriousFashionMnistOptions { DataDirectory = "/nonexistent/fmnist" }));
        Assert.Contains("dataset-fashion-mnist", ex.Message);
        Assert.Contains("/nonexistent/fmnist", ex.Message);
    }

    [Fact]
    public void Bad_options_are_rejected()
    {
        Assert.Throws<ArgumentException>(() => Build(new SpuriousFashionMnistOptions { Label1Classes = [0, 5] }));
        Assert.Throws<ArgumentOutOfRangeException>(() => Build(new SpuriousFashionMnistOptions { SpuriousCorrelation = 0.3 }));
        Assert.Throws<ArgumentOutOfRangeException>(() => Build(new SpuriousFashionMnistOptions { ValidationSize = 10 }));
    }

    [Fact]
    public void Colored_variant_has_ten_classes_on_ten_colours()
    {
        using var splits = ColoredFashionMnist.Build(FashionMnistFixture.Load(), new ColoredFashionMnistOptions { TrainPerClass = 200, TestPerClass = 100, ValidationPerClass = 50, MatchFraction = 0.9 });
        Assert.Equal(100, splits.Scheme.NumGroups);
        var train = splits.TrainGroupCounts();
        for (int y = 0; y < 10; y++)
        {
            Assert.Equal(180, train[y * 10 + y]);
            Assert.Equal(200, Enumerable.Range(0, 10).Sum(a => train[y * 10 + a]));
        }
        Assert.All(GroupCounts.Of(splits.Test), n => Assert.Equal(10, n));
        Assert.All(GroupCounts.Of(splits.Validation), n => Assert.Equal(5, n));
    }

    private sealed class Tol : IEqualityComparer<float>
    {
        public bool Equals(float x, float y) => Math.Abs(x - y) < 1e-6;

        public int GetHashCode(float obj) => 0;
    }
}
