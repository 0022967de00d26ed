using System.IO.Compression;
using GroupRobust.Data.FashionMnist;
using GroupRobust.Data.Idx;
using GroupRobust.Tests.TestSupport;

namespace GroupRobust.Tests.Data.FashionMnist;

/// <summary>The four Fashion-MNIST IDX files, written here small and then damaged.</summary>
public class FashionMnistFilesAdversarialTests
{
    /// <summary>4 training and 2 test images of 28 x 28 with labels, plain IDX files.</summary>
    private static void WriteFiles(string dir, int trainLabels = 4, byte badLabel = 0, int trainWidth = 28)
    {
        IdxFile.Write(Path.Combine(dir, "train-images-idx3-ubyte"), new IdxArray([4, 28, trainWidth], new byte[4 * 28 * trainWidth]));
        var labels = new byte[trainLabels];
        if (trainLabels > 2) labels[2] = badLabel;
        IdxFile.Write(Path.Combine(dir, "train-labels-idx1-ubyte"), new IdxArray([trainLabels], labels));
        IdxFile.Write(Path.Combine(dir, "t10k-images-idx3-ubyte"), new IdxArray([2, 28, 28], new byte[2 * 28 * 28]));
        IdxFile.Write(Path.Combine(dir, "t10k-labels-idx1-ubyte"), new IdxArray([2], [1, 9]));
    }

    [Fact]
    public void Images_and_labels_that_disagree_name_the_files_and_the_counts()
    {
        using var dir = new TempDirectory();
        WriteFiles(dir.Path);
        Assert.Equal(4, FashionMnistFiles.Load(dir.Path).TrainLabels.Count);
        // three labels for four images
        WriteFiles(dir.Path, trainLabels: 3);
        var count = Assert.Throws<InvalidDataException>(() => FashionMnistFiles.Load(dir.Path));
        Assert.Contains("train-labels-idx1-ubyte", count.Message);
        Assert.Contains("3 labels", count.Message);
        Assert.Contains("4 images", count.Message);
        // a label outside the ten classes
        WriteFiles(dir.Path, badLabel: 12);
        var label = Assert.Throws<InvalidDataException>(() => FashionMnistFiles.Load(dir.Path));
        Assert.Contains("train-labels-idx1-ubyte", label.Message);
        Assert.Contains("label 2 is 12; expected 0..9", label.Message);
        // images of 28 x 27
        WriteFiles(dir.Path, trainWidth: 27);
        var shape = Assert.Throws<InvalidDataException>(() => FashionMnistFiles.Load(dir.Path));
        Assert.Contains("train-images-idx3-ubyte", shape.Message);
        Assert.Contains("[4, 28, 27]", shape.Message);
    }

    [Fact]
    public void Idx_headers_with_a_zero_size_five_dimensions_or_a_cut_gzip_stream_are_refused_naming_the_file()
    {
        using var dir = new TempDirectory();
        string images = Path.Combine(dir.Path, "train-images-idx3-ubyte");
        InvalidDataException Fails()
        {
            var ex = Assert.Throws<InvalidDataException>(() => FashionMnistFiles.Load(dir.Path));
            Assert.Contains("train-images-idx3-ubyte", ex.Message);
            return ex;
        }
        WriteFiles(dir.Path);
        File.WriteAllBytes(images, [0, 0, 8, 3, 0, 0, 0, 4, 0, 0, 0, 0, 0, 0, 0, 28]);   // a dimension of size 0
        Assert.Contains("dimension 1 has size 0", Fails().Message);
        File.WriteAllBytes(images, [0, 0, 8, 5, 0, 0, 0, 1]);   // five dimensions
        Assert.Contains("5 dimensions", Fails().Message);
        // the gzip file of a valid IDX file, cut in the middle of the stream, or followed by garbage
        File.Delete(images);
        IdxFile.Write(images + ".gz", new IdxArray([4, 28, 28], Enumerable.Range(0, 4 * 28 * 28).Select(i => (byte)(i * 7919 % 251)).ToArray()));
        var gz = File.ReadAllBytes(images + ".gz");
        File.WriteAllBytes(images + ".gz", gz[..(gz.Length / 2)]);
        Fails();
        // bytes after the gzip stream are ignored, as gzip(1) ignores them: the IDX content inside is checked in full
        File.WriteAllBytes(images + ".gz", [.. gz, .. "trailing garbage"u8.ToArray()]);
        Assert.Equal(4, FashionMnistFiles.Load(dir.Path).TrainImages.Count);
        // a folder where the file is expected is not taken for it: the file is missing
        File.Delete(images + ".gz");
        Directory.CreateDirectory(images + ".gz");
        var missing = Assert.Throws<FileNotFoundException>(() => FashionMnistFiles.Load(dir.Path));
        Assert.Contains("train-images-idx3-ubyte", missing.Message);
    }
}
