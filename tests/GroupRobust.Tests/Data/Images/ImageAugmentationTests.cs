using GroupRobust.Data;
using GroupRobust.Data.Images;
using GroupRobust.Groups;
using GroupRobust.Imaging;
using GroupRobust.Methods;
using GroupRobust.Randomness;
using GroupRobust.Tests.Methods;
using GroupRobust.Tests.TestSupport;
using GroupRobust.Training;
using TorchSharp;
using static TorchSharp.torch;

namespace GroupRobust.Tests.Data.Images;

/// <summary>Train-time augmentation: torchvision's RandomResizedCrop and horizontal flip, reproducible per seed, epoch and sample.</summary>
public class ImageAugmentationTests
{
    [Fact]
    public void Boxes_follow_the_scale_and_ratio_ranges_and_flips_happen_half_the_time()
    {
        var aug = ImageAugmentation.Waterbirds;
        var rng = new Random(1);
        int flips = 0, n = 4000;
        for (int i = 0; i < n; i++)
        {
            var (left, top, w, h, flip) = aug.Draw(500, 375, rng);
            Assert.InRange(left, 0, 500 - w);
            Assert.InRange(top, 0, 375 - h);
            double area = (double)w * h / (500 * 375);
            Assert.InRange(area, 0.7 - 0.01, 1.0 + 0.01);                  // rounding of w and h
            Assert.InRange((double)w / h, 0.75 - 0.02, 4.0 / 3.0 + 0.02);
            if (flip) flips++;
        }
        Assert.InRange(flips, n / 2 - 4 * Math.Sqrt(n / 4.0), n / 2 + 4 * Math.Sqrt(n / 4.0));
        // a ratio the image cannot hold falls back to the centre crop at the nearest allowed ratio, as torchvision does
        var (l2, t2, w2, h2, _) = new ImageAugmentation { Scale = (1, 1), Ratio = (3, 3) }.Draw(90, 60, new Random(2));
        Assert.Equal((0, 15, 90, 30), (l2, t2, w2, h2));
        Assert.Throws<ArgumentOutOfRangeException>(() => new ImageAugmentation { Scale = (0, 1) }.Validate());
        Assert.Throws<ArgumentOutOfRangeException>(() => new ImageAugmentation { FlipProbability = 2 }.Validate());
    }

    /// <summary>Left half red, right half blue.</summary>
    private static DecodedImage Halves(int w, int h)
    {
        var rgb = new byte[w * h * 3];
        for (int y = 0; y < h; y++)
            for (int x = 0; x < w; x++)
            {
                int o = (y * w + x) * 3;
                rgb[o] = (byte)(x < w / 2 ? 255 : 0);
                rgb[o + 2] = (byte)(x < w / 2 ? 0 : 255);
            }
        return new DecodedImage(w, h, rgb);
    }

    private sealed class PlainDecoder : IImageDecoder
    {
        public DecodedImage Decode(string path) => new SkiaImageDecoder().Decode(path);
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public void Augmented_batches_are_reproducible_per_epoch_and_flip_left_to_right(bool skia)
    {
        using var dir = new TempDirectory();
        var paths = Enumerable.Range(0, 4).Select(i => dir.File($"{i}.png")).ToArray();
        foreach (var p in paths) SkiaImageDecoder.Encode(p, Halves(64, 48));
        int[] labels = [0, 1, 0, 1];
        IImageDecoder decoder = skia ? new SkiaImageDecoder() : new PlainDecoder();
        var aug = new ImageAugmentation { Size = 32, Scale = (0.5, 1.0) };
        using var data = new ImageFileDataset(paths, labels, labels, GroupScheme.Binary(), decoder, ImagePreprocessing.None, augmentation: aug, augmentationSeed: 7);
        using var scope = NewDisposeScope();
        data.SetEpoch(1);
        var a = data.GetBatch([0, 1, 2, 2]).Inputs;
        Assert.Equal([4L, 3L, 32L, 32L], a.shape);
        Assert.True(a.allclose(data.GetBatch([0, 1, 2, 2]).Inputs, 0, 0));                  // same seed, epoch and samples: same draws
        Assert.False(a[2].allclose(a[3], 0, 0));                                             // a sample twice in a batch: two draws
        data.SetEpoch(2);
        Assert.False(a.allclose(data.GetBatch([0, 1, 2, 2]).Inputs, 0, 0));                  // another epoch: other draws
        using var again = data.WithAugmentation(aug, 7);
        again.SetEpoch(1);
        Assert.True(a.allclose(again.GetBatch([0, 1, 2, 2]).Inputs, 0, 0));                  // a resumed run (a new dataset object) draws the same

        // the whole image, always flipped: red moves to the right half
        var flipAll = new ImageAugmentation { Size = 32, Scale = (1, 1), Ratio = (64.0 / 48, 64.0 / 48), FlipProbability = 1 };
        using var flipped = new ImageFileDataset(paths, labels, labels, GroupScheme.Binary(), decoder, ImagePreprocessing.None, augmentation: flipAll);
        var f = flipped.GetBatch([0]).Inputs[0];
        Assert.True(f[0, 16, 28].item<float>() > 0.9f && f[2, 16, 28].item<float>() < 0.1f, "red on the right after the flip");
        Assert.True(f[2, 16, 3].item<float>() > 0.9f && f[0, 16, 3].item<float>() < 0.1f, "blue on the left after the flip");
    }

    /// <summary>A dataset that records the epochs it is told.</summary>
    private sealed class EpochSpy(IGroupDataset inner) : IGroupDataset, IEpochAware
    {
        public List<int> Epochs { get; } = [];
        public void SetEpoch(int epoch) => Epochs.Add(epoch);
        public int Count => inner.Count;
        public GroupScheme Scheme => inner.Scheme;
        public ReadOnlyMemory<int> Labels => inner.Labels;
        public bool HasGroups => inner.HasGroups;
        public ReadOnlyMemory<int> Groups => inner.Groups;
        public Device Device => inner.Device;
        public GroupRobust.Data.Batch GetBatch(ReadOnlySpan<long> indices) => inner.GetBatch(indices);
        public void Dispose() { }
    }

    [Fact]
    public void The_training_loop_tells_the_dataset_each_epoch_through_views()
    {
        using var data = MethodFactory.Data(60);
        var spy = new EpochSpy(data.Train);
        using var model = MethodFactory.Model(1);
        using var method = new ErmMethod(spy, new SeedSource(0));   // ERM trains on a view without group labels
        using var opt = torch.optim.SGD(model.parameters(), 0.1);
        TrainingLoop.Run(method, model, opt, spy, data.Validation, new TrainingLoopOptions { Epochs = 3, BatchSize = 16 });
        Assert.Equal([1, 2, 3], spy.Epochs);
        var view = spy.WithoutGroupLabels();
        ((IEpochAware)view).SetEpoch(9);
        Assert.Equal(9, spy.Epochs[^1]);
    }
}
