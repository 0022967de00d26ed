using GroupRobust.Data.Idx;

namespace GroupRobust.Data.FashionMnist;

/// <summary>
/// The raw Fashion-MNIST arrays (Xiao et al., 2017): 60,000 training and 10,000 test 28x28 grayscale images of ten
/// clothing classes, read from the four IDX files (plain or gzip). On Debian the package <c>dataset-fashion-mnist</c>
/// installs them to <see cref="DefaultDirectory"/>.
/// </summary>
public sealed class FashionMnistFiles
{
    /// <summary>Where Debian's <c>dataset-fashion-mnist</c> package puts the files.</summary>
    public const string DefaultDirectory = "/usr/share/datasets/fashion-mnist";

    /// <summary>The ten class names, by label.</summary>
    public static IReadOnlyList<string> ClassNames { get; } =
        ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"];

    private FashionMnistFiles(IdxArray trainImages, IdxArray trainLabels, IdxArray testImages, IdxArray testLabels)
    {
        TrainImages = trainImages;
        TrainLabels = trainLabels;
        TestImages = testImages;
        TestLabels = testLabels;
    }

    /// <summary>Training images [N, 28, 28].</summary>
    public IdxArray TrainImages { get; }

    /// <summary>Training labels [N] in 0..9.</summary>
    public IdxArray TrainLabels { get; }

    /// <summary>Test images [M, 28, 28].</summary>
    public IdxArray TestImages { get; }

    /// <summary>Test labels [M] in 0..9.</summary>
    public IdxArray TestLabels { get; }

    /// <summary>Loads the four files from <paramref name="directory"/> (default <see cref="DefaultDirectory"/>).</summary>
    /// <exception cref="FileNotFoundException">A file is missing; the message names it and the Debian package.</exception>
    /// <exception cref="InvalidDataException">A file is corrupted, or images and labels disagree (the message names the file).</exception>
    public static FashionMnistFiles Load(string? directory = null)
    {
        directory ??= DefaultDirectory;
        string[] paths = [.. new[] { "train-images-idx3-ubyte", "train-labels-idx1-ubyte", "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte" }.Select(stem => Find(directory, stem))];
        var (trainImages, trainLabels, testImages, testLabels) = (IdxFile.Read(paths[0]), IdxFile.Read(paths[1]), IdxFile.Read(paths[2]), IdxFile.Read(paths[3]));
        Check(trainImages, trainLabels, paths[0], paths[1]);
        Check(testImages, testLabels, paths[2], paths[3]);
        return new FashionMnistFiles(trainImages, trainLabels, testImages, testLabels);
    }

    private static string Find(string directory, string stem)
    {
        foreach (var name in new[] { stem + ".gz", stem })
        {
            var path = Path.Combine(directory, name);
            if (File.Exists(path)) return path;
        }
        throw new FileNotFoundException(
            $"Fashion-MNIST file '{stem}(.gz)' was not found in {directory}. Install the Debian package 'dataset-fashion-mnist' " +
            $"(apt-get install dataset-fashion-mnist, or run eng/install-prereqs.sh), or point the data directory option at a folder with the four IDX files.",
            Path.Combine(directory, stem + ".gz"));
    }

    private static void Check(IdxArray images, IdxArray labels, string imagesPath, string labelsPath)
    {
        if (images.Dimensions.Length != 3 || images.Dimensions[1] != 28 || images.Dimensions[2] != 28)
            throw new InvalidDataException($"{imagesPath}: the images have dimensions [{string.Join(", ", images.Dimensions)}]; expected [N, 28, 28].");
        if (labels.Dimensions.Length != 1 || labels.Count != images.Count)
            throw new InvalidDataException($"{labelsPath}: {labels.Count} labels (dimensions [{string.Join(", ", labels.Dimensions)}]) but {Path.GetFileName(imagesPath)} has {images.Count} images.");
        for (int i = 0; i < labels.Data.Length; i++)
            if (labels.Data[i] > 9)
                throw new InvalidDataException($"{labelsPath}: label {i} is {labels.Data[i]}; expected 0..9.");
    }
}
