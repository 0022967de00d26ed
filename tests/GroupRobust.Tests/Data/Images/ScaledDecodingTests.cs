using GroupRobust.Data.Images;
using GroupRobust.Groups;
using GroupRobust.Imaging;
using GroupRobust.Tests.TestSupport;
using TorchSharp;
using static TorchSharp.torch;

namespace GroupRobust.Tests.Data.Images;

/// <summary>The fast image path: Skia crops and resizes, the batch is converted in one pass, in parallel.</summary>
public class ScaledDecodingTests(Xunit.Abstractions.ITestOutputHelper output)
{
    /// <summary>A smooth photograph-like scene of <paramref name="w"/> x <paramref name="h"/> with mild noise.</summary>
    private static DecodedImage Scene(int w, int h, int seed)
    {
        var rng = new Random(seed);
        var rgb = new byte[w * h * 3];
        for (int y = 0; y < h; y++)
            for (int x = 0; x < w; x++)
            {
                int o = (y * w + x) * 3;
                rgb[o] = (byte)Math.Clamp(x * 255 / w + rng.Next(-8, 9), 0, 255);
                rgb[o + 1] = (byte)Math.Clamp(y * 255 / h + rng.Next(-8, 9), 0, 255);
                rgb[o + 2] = (byte)Math.Clamp(128 + (int)(80 * Math.Sin((x + seed) / 23.0) * Math.Cos(y / 31.0)), 0, 255);
            }
        return new DecodedImage(w, h, rgb);
    }

    /// <summary>The same files through the per-image tensor path (a decoder that cannot scale) and the Skia fast path.</summary>
    private sealed class PlainDecoder : IImageDecoder
    {
        private readonly SkiaImageDecoder _inner = new();

        public DecodedImage Decode(string path) => _inner.Decode(path);
    }

    [Theory]
    [InlineData("waterbirds", 500, 375)]   // resize 256 x 256, centre crop 224 (scaled decoding: 6/8)
    [InlineData("celeba", 178, 218)]       // centre crop 178, resize 224 x 224 (an upscale: no scaled decoding)
    [InlineData("waterbirds", 1200, 900)]  // scaled decoding at 3/8 before the resize
    public void The_fast_path_matches_the_tensor_path_within_resampling_differences(string preset, int w, int h)
    {
        using var scope = NewDisposeScope();
        var (a, b) = Both(preset, w, h, new SkiaImageDecoder());
        // in [0, 1] units (the inputs are normalised by std ~ 0.225): the scaled IDCT low-passes, the geometry must not differ
        double meanAbs = (a - b).abs().mean().item<float>() * 0.225;
        Assert.True(meanAbs < 0.005, $"mean absolute difference {meanAbs:F4} on [0, 1]");
        // a geometry error (an offset crop, a flipped axis) would decorrelate the two: the scene's gradients must agree
        var corr = torch.corrcoef(torch.stack([a.flatten(), b.flatten()])).data<float>().ToArray()[1];
        output.WriteLine($"{preset} {w} x {h}: mean absolute difference {meanAbs:F4} on [0, 1], correlation {corr:F5}");
        Assert.True(corr > 0.999, $"correlation {corr:F4}");
    }

    [Theory]
    [InlineData("waterbirds", 500, 375)]
    [InlineData("celeba", 178, 218)]
    [InlineData("waterbirds", 1200, 900)]
    public void Without_scaled_decoding_the_fast_path_is_the_tensor_path_up_to_uint8_rounding(string preset, int w, int h)
    {
        // the same antialiased bilinear filter on the full-resolution image, once on uint8 (libtorch's kernel, rounded
        // to a byte after each of its two passes) and once on float: every value within one level of 255
        using var scope = NewDisposeScope();
        var (a, b) = Both(preset, w, h, new SkiaImageDecoder { ScaledDecoding = false });
        var std = torch.tensor(ImagePreprocessing.ImageNetStd.ToArray()).view(1, 3, 1, 1);
        double maxAbs = ((a - b) * std).abs().max().item<float>();
        output.WriteLine($"{preset} {w} x {h}: max absolute difference {maxAbs * 255:F3} levels of 255");
        Assert.True(maxAbs <= 1.05 / 255, $"max absolute difference {maxAbs * 255:F3} levels of 255");
    }

    /// <summary>The same PNG scenes through <paramref name="fast"/> and through the per-image tensor path, as normalised batches.</summary>
    private static (Tensor Fast, Tensor Tensor) Both(string preset, int w, int h, SkiaImageDecoder fast)
    {
        using var dir = new TempDirectory();
        // JPEGs, so that scaled decoding applies where the target allows it; the tensor path decodes them at full resolution
        var paths = Enumerable.Range(0, 6).Select(i => dir.File($"{i}.jpg")).ToArray();
        for (int i = 0; i < paths.Length; i++) SkiaImageDecoder.Encode(paths[i], Scene(w, h, i), 95);
        var preprocessing = preset == "celeba" ? ImagePreprocessing.CelebA : ImagePreprocessing.Waterbirds;
        var labels = Enumerable.Range(0, paths.Length).Select(i => i % 2).ToArray();
        using var scaled = new ImageFileDataset(paths, labels, labels, GroupScheme.Binary(), fast, preprocessing);
        using var slow = new ImageFileDataset(paths, labels, labels, GroupScheme.Binary(), new PlainDecoder(), preprocessing);
        long[] all = [0, 1, 2, 3, 4, 5];
        var a = scaled.GetBatch(all).Inputs;
        var b = slow.GetBatch(all).Inputs;
        Assert.Equal(b.shape, a.shape);
        Assert.Equal(ScalarType.Float32, a.dtype);
        return (a, b);
    }

    [Fact]
    public void A_batch_larger_than_one_array_is_refused_before_anything_is_decoded_or_allocated()
    {
        using var dir = new TempDirectory();
        var path = dir.File("0.png");
        SkiaImageDecoder.Encode(path, Scene(8, 8, 0));
        using var data = new ImageFileDataset([path], [0], [0], GroupScheme.Binary(), new SkiaImageDecoder(), new ImagePreprocessing { Resize = (1000, 1000) });
        using var scope = NewDisposeScope();
        // 716 x 3 x 1000 x 1000 values: more than an array can hold
        var ex = Assert.Throws<ArgumentException>(() => data.GetBatch(new long[716]));
        Assert.Contains("716 images of 3 x 1000 x 1000", ex.Message);
        Assert.Contains("use smaller batches", ex.Message);
    }

    [Fact]
    public void A_corrupt_image_in_a_parallel_batch_is_named_with_its_metadata_line()
    {
        using var dir = new TempDirectory();
        var paths = Enumerable.Range(0, 8).Select(i => dir.File($"{i}.jpg")).ToArray();
        for (int i = 0; i < paths.Length; i++) SkiaImageDecoder.Encode(paths[i], Scene(64, 48, i));
        File.WriteAllBytes(paths[5], [0xFF, 0xD8, 0xFF, 0xE0, 1, 2, 3]);   // a JPEG header and nothing else
        var labels = Enumerable.Range(0, paths.Length).Select(i => i % 2).ToArray();
        var origins = Enumerable.Range(0, paths.Length).Select(i => $"meta.csv, line {i + 2}").ToArray();
        using var data = new ImageFileDataset(paths, labels, labels, GroupScheme.Binary(), new SkiaImageDecoder(),
            new ImagePreprocessing { Resize = (32, 32) }, origins);
        using var scope = NewDisposeScope();
        var ex = Assert.Throws<InvalidDataException>(() => data.GetBatch([0, 1, 2, 3, 4, 5, 6, 7]));
        Assert.Contains("meta.csv, line 7", ex.Message);
        Assert.Contains("5.jpg", ex.Message);
        // the other images still load, and the same seedless batch twice is identical (no parallel nondeterminism)
        var first = data.GetBatch([0, 1, 2, 3]).Inputs;
        Assert.True(first.allclose(data.GetBatch([0, 1, 2, 3]).Inputs, 0, 0));
    }
}
