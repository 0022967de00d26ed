using GroupRobust.Data.Images;
using GroupRobust.Imaging;
using GroupRobust.Tests.Data.Loaders;
using GroupRobust.Tests.TestSupport;
using TorchSharp;
using static TorchSharp.torch;

namespace GroupRobust.Tests.Data.Images;

public class ImagePreprocessingTests
{
    [Fact]
    public void Presets_produce_the_reference_shapes()
    {
        using var scope = NewDisposeScope();
        var img = LoaderFixtures.Solid(300, 200, 255, 0, 128);
        Assert.Equal(new long[] { 3, 224, 224 }, ImagePreprocessing.Waterbirds.Apply(img).shape);
        Assert.Equal(new long[] { 3, 224, 224 }, ImagePreprocessing.CelebA.Apply(img).shape);
        var plain = ImagePreprocessing.None.Apply(img);
        Assert.Equal(new long[] { 3, 200, 300 }, plain.shape);
        Assert.Equal(128 / 255f, plain[2, 10, 10].item<float>(), 1e-6);
        Assert.Throws<ArgumentException>(() => ImagePreprocessing.CelebA.Apply(LoaderFixtures.Solid(100, 100, 0, 0, 0)));
    }

    [Fact]
    public void Center_crop_takes_the_middle()
    {
        using var scope = NewDisposeScope();
        var rgb = new byte[5 * 5 * 3];
        rgb[(2 * 5 + 2) * 3] = 255; // centre pixel red
        var cropped = new ImagePreprocessing { CenterCrop = 1 }.Apply(new DecodedImage(5, 5, rgb));
        Assert.Equal(1f, cropped[0, 0, 0].item<float>());
    }

    [Fact]
    public void Skia_decodes_png_exactly_and_rejects_garbage()
    {
        using var dir = new TempDirectory();
        var img = new DecodedImage(3, 2, [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18]);
        SkiaImageDecoder.Encode(dir.File("a.png"), img);
        Assert.Equal(img.Rgb, new SkiaImageDecoder().Decode(dir.File("a.png")).Rgb);
        File.WriteAllText(dir.File("bad.jpg"), "not an image");
        Assert.Throws<InvalidDataException>(() => new SkiaImageDecoder().Decode(dir.File("bad.jpg")));
        File.WriteAllText(dir.File("bad.ppm"), "P3\n1 1\n255\n0 0 0");
        Assert.Throws<InvalidDataException>(() => new NetpbmImageDecoder().Decode(dir.File("bad.ppm")));
    }
}
