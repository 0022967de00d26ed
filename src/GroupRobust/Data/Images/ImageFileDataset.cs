using GroupRobust.Groups;
using TorchSharp;
using static TorchSharp.torch;

namespace GroupRobust.Data.Images;

/// <summary>
/// Images on disk with labels and optional attributes, decoded and preprocessed lazily, batch by batch (the memory
/// held is the file list). Used by the Waterbirds, CelebA and normalized-CSV loaders.
/// </summary>
public sealed class ImageFileDataset : GroupDatasetBase
{
    private readonly string[] _paths;
    private readonly string[] _origins;
    private readonly IImageDecoder _decoder;
    private readonly ImagePreprocessing _preprocessing;

    /// <summary>Creates the dataset.</summary>
    /// <param name="paths">Image file per sample.</param>
    /// <param name="labels">Label per sample in [0, C).</param>
    /// <param name="attributes">Attribute per sample in [0, A), or null without group labels.</param>
    /// <param name="scheme">The group structure.</param>
    /// <param name="decoder">Image decoder.</param>
    /// <param name="preprocessing">Preprocessing (all images must come out the same size).</param>
    /// <param name="origins">Where each sample was declared (e.g. "metadata.csv, line 12"), used in errors; optional.</param>
    /// <param name="device">Device batches are returned on (CPU by default).</param>
    public ImageFileDataset(IReadOnlyList<string> paths, IReadOnlyList<int> labels, IReadOnlyList<int>? attributes, GroupScheme scheme,
        IImageDecoder decoder, ImagePreprocessing preprocessing, IReadOnlyList<string>? origins = null, Device? device = null)
        : base(scheme, labels, attributes, device ?? CPU, i => origins?[i] ?? $"sample {i}")
    {
        ArgumentNullException.ThrowIfNull(paths);
        ArgumentNullException.ThrowIfNull(decoder);
        ArgumentNullException.ThrowIfNull(preprocessing);
        if (paths.Count != labels.Count) throw new ArgumentException($"{labels.Count} labels for {paths.Count} paths.", nameof(labels));
        _paths = paths.ToArray();
        _origins = origins?.ToArray() ?? _paths.Select((_, i) => $"sample {i}").ToArray();
        _decoder = decoder;
        _preprocessing = preprocessing;
    }

    /// <summary>True when <paramref name="path"/> is a regular, non-empty file (not a device such as /dev/zero, a directory or an empty file, through links too).</summary>
    internal static bool IsRegularImageFile(string path, out string why)
    {
        var info = new FileInfo(path);
        if (info.LinkTarget is not null && info.ResolveLinkTarget(returnFinalTarget: true) is FileInfo target) info = target;
        why = "";
        if ((info.Attributes & (FileAttributes.Device | FileAttributes.Directory)) != 0 || info.FullName.StartsWith("/dev/", StringComparison.Ordinal) || info.FullName.StartsWith("/proc/", StringComparison.Ordinal))
        {
            why = "is not a regular file (a device, directory or special file)";
            return false;
        }
        if (!info.Exists || info.Length == 0)
        {
            why = "is empty or not a regular file";
            return false;
        }
        return true;
    }

    /// <summary>The image file of sample <paramref name="index"/>.</summary>
    public string PathOf(int index) => _paths[index];

    /// <inheritdoc />
    protected override Tensor GatherInputs(long[] indices)
    {
        var images = new Tensor[indices.Length];
        for (int i = 0; i < indices.Length; i++)
        {
            int k = (int)indices[i];
            if (!File.Exists(_paths[k])) throw new FileNotFoundException($"{_origins[k]}: image '{_paths[k]}' does not exist.", _paths[k]);
            if (!IsRegularImageFile(_paths[k], out var why)) throw new InvalidDataException($"{_origins[k]}: image '{_paths[k]}' {why}.");
            DecodedImage decoded;
            try
            {
                decoded = _decoder.Decode(_paths[k]);
            }
            catch (Exception ex) when (ex is not OutOfMemoryException and not OperationCanceledException)   // any decoder failure names the image and its line
            {
                throw new InvalidDataException($"{_origins[k]}: image '{_paths[k]}' could not be decoded: {ex.Message}", ex);
            }
            images[i] = _preprocessing.Apply(decoded, Device);
            if (i > 0 && !images[i].shape.SequenceEqual(images[0].shape))
                throw new InvalidDataException($"{_origins[k]}: image '{_paths[k]}' preprocesses to [{string.Join(", ", images[i].shape)}] but the batch's first image to [{string.Join(", ", images[0].shape)}]; add a resize to the preprocessing.");
        }
        return torch.stack(images);
    }
}
