using GroupRobust.Data.Images;
using GroupRobust.Groups;
using GroupRobust.Imaging;
using GroupRobust.Tests.TestSupport;
using static TorchSharp.torch;

namespace GroupRobust.Tests.Data.Images;

/// <summary>
/// Every failure while reading an image names the file and its metadata line: a decoder's bare exception (Skia's
/// "Unable to allocate pixels for the bitmap."), running out of memory (in a parallel batch too, where it used to escape as
/// an AggregateException without a name) and a preprocessing step that does not fit the image.
/// </summary>
public class ImageFailureNamingTests
{
    /// <summary>Decodes with Skia, except the file named "bad", where it fails as told.</summary>
    private sealed class FailingDecoder(Func<Exception> failure) : IScalingImageDecoder
    {
        private readonly SkiaImageDecoder _inner = new();

        private void Check(string path)
        {
            if (Path.GetFileNameWithoutExtension(path) == "bad") throw failure();
        }

        public DecodedImage Decode(string path)
        {
            Check(path);
            return _inner.Decode(path);
        }

        public void DecodeResized(string path, int? preCrop, int height, int width, Span<byte> destination)
        {
            Check(path);
            _inner.DecodeResized(path, preCrop, height, width, destination);
        }

        public void DecodeBox(string path, int? preCrop, Func<int, int, (int Left, int Top, int Width, int Height, bool Flip)> box, int height, int width, Span<byte> destination)
        {
            Check(path);
            _inner.DecodeBox(path, preCrop, box, height, width, destination);
        }
    }

    /// <summary>The same decoder without the scaling interface: the per-image tensor path.</summary>
    private sealed class PlainFailingDecoder(Func<Exception> failure) : IImageDecoder
    {
        private readonly FailingDecoder _inner = new(failure);

        public DecodedImage Decode(string path) => _inner.Decode(path);
    }

    private static (string[] Paths, string[] Origins, int[] Labels) Files(TempDirectory dir)
    {
        var names = new[] { "a", "b", "bad", "c" };
        var paths = names.Select(n => dir.File(n + ".png")).ToArray();
        foreach (var p in paths) SkiaImageDecoder.Encode(p, new DecodedImage(16, 12, new byte[16 * 12 * 3]));
        return (paths, names.Select((_, i) => $"meta.csv, line {i + 2}").ToArray(), [0, 1, 0, 1]);
    }

    public static TheoryData<string, bool> Cases => new()
    {
        { "allocation", true }, { "allocation", false }, { "out-of-memory", true }, { "out-of-memory", false },
    };

    [Theory]
    [MemberData(nameof(Cases))]
    public void A_decoder_failure_or_running_out_of_memory_names_the_file_and_its_line(string failure, bool scaling)
    {
        using var dir = new TempDirectory();
        var (paths, origins, labels) = Files(dir);
        Func<Exception> make = failure == "allocation"
            ? () => new Exception("Unable to allocate pixels for the bitmap.")   // what SkiaSharp throws, without a file name
            : () => new OutOfMemoryException();
        IImageDecoder decoder = scaling ? new FailingDecoder(make) : new PlainFailingDecoder(make);
        using var data = new ImageFileDataset(paths, labels, labels, GroupScheme.Binary(), decoder, new ImagePreprocessing { Resize = (8, 8) }, origins);
        using var scope = NewDisposeScope();
        var ex = Record.Exception(() => data.GetBatch([0, 1, 2, 3]));
        Assert.NotNull(ex);
        Assert.Contains("meta.csv, line 4", ex!.Message);
        Assert.Contains("bad.png", ex.Message);
        if (failure == "out-of-memory") Assert.IsType<InsufficientMemoryException>(ex);   // still an OutOfMemoryException
        else
        {
            Assert.IsType<InvalidDataException>(ex);
            Assert.Contains("Unable to allocate pixels", ex.Message);
        }
        // the other images are fine
        Assert.Equal(3, data.GetBatch([0, 1, 3]).Inputs.shape[0]);
    }

    [Fact]
    public void A_preprocessing_that_does_not_fit_the_image_names_the_file_and_its_line()
    {
        using var dir = new TempDirectory();
        var (paths, origins, labels) = Files(dir);
        // the per-image path: no resize, a centre crop larger than the 16 x 12 images
        using var data = new ImageFileDataset(paths, labels, labels, GroupScheme.Binary(), new PlainFailingDecoder(() => new Exception("unused")),
            new ImagePreprocessing { CenterCrop = 14 }, origins);
        using var scope = NewDisposeScope();
        var ex = Assert.Throws<InvalidDataException>(() => data.GetBatch([1]));
        Assert.Contains("meta.csv, line 3", ex.Message);
        Assert.Contains("b.png", ex.Message);
    }
}
