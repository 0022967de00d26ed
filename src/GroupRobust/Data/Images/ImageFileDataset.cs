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
        foreach (var index in indices)
        {
            int k = (int)index;
            if (!File.Exists(_paths[k])) throw new FileNotFoundException($"{_origins[k]}: image '{_paths[k]}' does not exist.", _paths[k]);
            if (!IsRegularImageFile(_paths[k], out var why)) throw new InvalidDataException($"{_origins[k]}: image '{_paths[k]}' {why}.");
        }
        if (_decoder is IScalingImageDecoder scaling && _preprocessing.Resize is var (h, w))
            return GatherScaled(scaling, indices, h, w);
        var images = new Tensor[indices.Length];
        for (int i = 0; i < indices.Length; i++)
        {
            int k = (int)indices[i];
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

    /// <summary>
    /// The fast path: every image decoded, cropped and resized natively, in parallel (one image per core), into one
    /// uint8 batch buffer; then a single conversion and normalisation of the whole batch.
    /// </summary>
    private Tensor GatherScaled(IScalingImageDecoder decoder, long[] indices, int height, int width)
    {
        int crop = _preprocessing.CenterCrop ?? 0;
        if (crop > height || crop > width)
            throw new ArgumentException($"Cannot center-crop {crop} x {crop} from an image resized to {height} x {width}.");
        int oh = crop > 0 ? crop : height, ow = crop > 0 ? crop : width;
        // torchvision's CenterCrop offsets: round((size - crop) / 2), half away from zero
        int top = (int)Math.Round((height - oh) / 2.0, MidpointRounding.AwayFromZero), left = (int)Math.Round((width - ow) / 2.0, MidpointRounding.AwayFromZero);
        int plane = oh * ow;
        // the whole conversion in one pass per image: (v / 255 - mean_c) / std_c from a 256-entry table per channel,
        // written channel-first into the batch buffer (no tensor operation per image, and none per step but the copy)
        var table = new float[3][];
        for (int c = 0; c < 3; c++)
        {
            float mean = _preprocessing.Mean is { } m && _preprocessing.Std is not null ? m[c] : 0f;
            float std = _preprocessing.Std is { } sd && _preprocessing.Mean is not null ? sd[c] : 1f;
            table[c] = Enumerable.Range(0, 256).Select(v => (v / 255f - mean) / std).ToArray();
        }
        var values = new float[(long)indices.Length * 3 * plane];
        var failures = new Exception?[indices.Length];
        Parallel.For(0, indices.Length, new ParallelOptions { MaxDegreeOfParallelism = Environment.ProcessorCount }, () => new byte[height * width * 3], (i, _, resized) =>
        {
            int k = (int)indices[i];
            try
            {
                decoder.DecodeResized(_paths[k], _preprocessing.PreCrop, height, width, resized);
                var image = values.AsSpan((int)((long)i * 3 * plane), 3 * plane);
                for (int y = 0; y < oh; y++)
                {
                    var row = resized.AsSpan(((top + y) * width + left) * 3, ow * 3);
                    for (int x = 0; x < ow; x++)
                    {
                        int o = y * ow + x;
                        image[o] = table[0][row[3 * x]];
                        image[plane + o] = table[1][row[3 * x + 1]];
                        image[2 * plane + o] = table[2][row[3 * x + 2]];
                    }
                }
            }
            catch (Exception ex) when (ex is not OutOfMemoryException)
            {
                failures[i] = ex;
            }
            return resized;
        }, _ => { });
        for (int i = 0; i < failures.Length; i++)
        {
            if (failures[i] is not { } ex) continue;
            int k = (int)indices[i];
            throw new InvalidDataException($"{_origins[k]}: image '{_paths[k]}' could not be decoded: {ex.Message}", ex);
        }
        using var scope = NewDisposeScope();
        var batch = torch.tensor(values, [indices.Length, 3, oh, ow]);
        return (Device.type == DeviceType.CPU ? batch : batch.to(Device)).MoveToOuterDisposeScope();
    }
}
