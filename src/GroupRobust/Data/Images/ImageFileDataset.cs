using GroupRobust.Internal;
using GroupRobust.Groups;
using TorchSharp;
using static TorchSharp.torch;

namespace GroupRobust.Data.Images;

/// <summary>
/// Images on disk with labels and optional attributes, decoded and preprocessed lazily, batch by batch (the memory
/// held is the file list). Used by the Waterbirds, CelebA and normalized-CSV loaders.
/// </summary>
public sealed class ImageFileDataset : GroupDatasetBase, IEpochAware
{
    private readonly ImageAugmentation? _augmentation;
    private readonly long _augmentationSeed;
    private int _epoch = 1;
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
    /// <param name="augmentation">
    /// Train-time augmentation (random resized crop of the whole decoded image and flip, as group_DRO's training transforms)
    /// replacing the preprocessing's pre-crop, resize and centre crop (the normalisation stays); null
    /// (default) for none. Its draws are a function of <paramref name="augmentationSeed"/>, the epoch (<see cref="SetEpoch"/>,
    /// which the training loop calls), the sample and its occurrence within the batch: the same in a resumed run and
    /// with or without prefetching. A sample repeated in several batches of one epoch (JTT's upsampling) gets the same draw.
    /// </param>
    /// <param name="augmentationSeed">Seed of the augmentation draws.</param>
    /// <exception cref="ArgumentException">Paths and labels of different lengths, or preprocessing whose settings contradict each other (Mean without Std, a center crop larger than the resize).</exception>
    public ImageFileDataset(IReadOnlyList<string> paths, IReadOnlyList<int> labels, IReadOnlyList<int>? attributes, GroupScheme scheme,
        IImageDecoder decoder, ImagePreprocessing preprocessing, IReadOnlyList<string>? origins = null, Device? device = null,
        ImageAugmentation? augmentation = null, long augmentationSeed = 0)
        : base(scheme, labels, attributes, device ?? CPU, i => origins?[i] ?? $"sample {i}")
    {
        augmentation?.Validate();
        _augmentation = augmentation;
        _augmentationSeed = augmentationSeed;
        ArgumentNullException.ThrowIfNull(paths);
        ArgumentNullException.ThrowIfNull(decoder);
        ArgumentNullException.ThrowIfNull(preprocessing);
        if (preprocessing.Contradiction() is string contradiction) throw new ArgumentException(contradiction, nameof(preprocessing));
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

    /// <summary>
    /// The same files, labels and preprocessing with train-time augmentation (or none): for the training split of a
    /// loader's <see cref="DatasetSplits"/>, for example <c>splits with { Train = ((ImageFileDataset)splits.Train).WithAugmentation(ImageAugmentation.Waterbirds, seed) }</c>.
    /// </summary>
    public ImageFileDataset WithAugmentation(ImageAugmentation? augmentation, long seed)
        => new(_paths, Labels.ToArray(), HasGroups ? Groups.ToArray().Select(g => g % Scheme.NumAttributes).ToArray() : null, Scheme, _decoder, _preprocessing,
            _origins, Device, augmentation, seed);

    /// <summary>The train-time augmentation, or null.</summary>
    public ImageAugmentation? Augmentation => _augmentation;

    /// <inheritdoc />
    public void SetEpoch(int epoch)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(epoch, 1);
        _epoch = epoch;
    }

    /// <summary>The generator of sample <paramref name="index"/>'s augmentation at its <paramref name="occurrence"/>-th place in a batch of the current epoch.</summary>
    private Random AugmentationRng(long index, int occurrence)
    {
        ulong h = (ulong)_augmentationSeed;
        // the epoch enters from 0, as in the first releases (epochs are numbered from 1), so that the draws stay what they were
        foreach (ulong v in new[] { (ulong)(_epoch - 1), (ulong)index, (ulong)occurrence })
        {
            h += 0x9E3779B97F4A7C15UL + v;
            h = (h ^ (h >> 30)) * 0xBF58476D1CE4E5B9UL;
            h = (h ^ (h >> 27)) * 0x94D049BB133111EBUL;
            h ^= h >> 31;
        }
        return new Random((int)(h ^ (h >> 32)));
    }

    /// <summary>For each batch row, how many earlier rows hold the same sample (so duplicates get different draws).</summary>
    private static int[] Occurrences(long[] indices)
    {
        var seen = new Dictionary<long, int>();
        var result = new int[indices.Length];
        for (int i = 0; i < indices.Length; i++)
        {
            seen.TryGetValue(indices[i], out int n);
            result[i] = n;
            seen[indices[i]] = n + 1;
        }
        return result;
    }

    /// <summary>The image file of sample <paramref name="index"/>.</summary>
    public string PathOf(int index) => _paths[index];

    /// <inheritdoc />
    protected override Tensor GatherInputs(long[] indices)
    {
        foreach (var index in indices)
        {
            int k = (int)index;
            if (!File.Exists(_paths[k]) && !Directory.Exists(_paths[k])) throw new FileNotFoundException($"{_origins[k]}: image '{_paths[k]}' does not exist.", _paths[k]);
            if (!IsRegularImageFile(_paths[k], out var why)) throw new InvalidDataException($"{_origins[k]}: image '{_paths[k]}' {why}.");
        }
        if (_augmentation is { } aug)
        {
            var occurrence = Occurrences(indices);
            if (_decoder is IScalingImageDecoder augmenting)
                return GatherScaled(indices, aug.Size, aug.Size, 0, (i, k, buffer) =>
                    augmenting.DecodeBox(_paths[k], null, (w, h) => aug.Draw(w, h, AugmentationRng(indices[i], occurrence[i])), aug.Size, aug.Size, buffer));
            return GatherAugmentedTensors(indices, aug, occurrence);
        }
        if (_decoder is IScalingImageDecoder scaling && _preprocessing.Resize is var (h0, w0))
            return GatherScaled(indices, h0, w0, _preprocessing.CenterCrop ?? 0, (_, k, buffer) => scaling.DecodeResized(_paths[k], _preprocessing.PreCrop, h0, w0, buffer));
        var images = new Tensor[indices.Length];
        for (int i = 0; i < indices.Length; i++)
        {
            int k = (int)indices[i];
            var decoded = Decode(k);
            images[i] = Named(k, () => _preprocessing.Apply(decoded, Device));
            if (i > 0 && !images[i].shape.SequenceEqual(images[0].shape))
                throw new InvalidDataException($"{_origins[k]}: image '{_paths[k]}' preprocesses to [{string.Join(", ", images[i].shape)}] but the batch's first image to [{string.Join(", ", images[0].shape)}]; add a resize to the preprocessing.");
        }
        return torch.stack(images);
    }

    /// <summary>
    /// The fast path: every image decoded, cropped and resized natively, in parallel (one image per core), into one
    /// uint8 batch buffer; then a single conversion and normalisation of the whole batch.
    /// </summary>
    private Tensor GatherScaled(long[] indices, int height, int width, int crop, Action<int, int, byte[]> decode)
    {
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
        // the batch tensor is allocated first and every image is written straight into its memory: a managed array
        // (uninitialised; the tensor shares it and keeps it pinned until disposed), whose pages the runtime reuses
        // from batch to batch where a fresh native allocation of this size would fault in every page again
        long count = (long)indices.Length * 3 * plane;
        if (count > Array.MaxLength)
            throw new ArgumentException($"A batch of {indices.Length} images of 3 x {oh} x {ow} holds {count} values, more than one array can ({Array.MaxLength}); use smaller batches.", nameof(indices));
        using var scope = NewDisposeScope();
        var values = GC.AllocateUninitializedArray<float>((int)count);
        var batch = torch.frombuffer(values, ScalarType.Float32, values.Length, 0).view(indices.Length, 3, oh, ow);
        var failures = new Exception?[indices.Length];
        Parallel.For(0, indices.Length, new ParallelOptions { MaxDegreeOfParallelism = Environment.ProcessorCount }, () => new byte[height * width * 3], (i, _, resized) =>
        {
            int k = (int)indices[i];
            try
            {
                decode(i, k, resized);
                var image = values.AsSpan(i * 3 * plane, 3 * plane);
                var red = image[..plane];
                var green = image.Slice(plane, plane);
                var blue = image.Slice(2 * plane, plane);
                float[] r = table[0], g = table[1], b = table[2];
                for (int y = 0; y < oh; y++)
                {
                    var row = resized.AsSpan(((top + y) * width + left) * 3, ow * 3);
                    for (int x = 0, o = y * ow; x < ow; x++, o++)
                    {
                        red[o] = r[row[3 * x]];
                        green[o] = g[row[3 * x + 1]];
                        blue[o] = b[row[3 * x + 2]];
                    }
                }
            }
            catch (Exception ex) when (ex is not OperationCanceledException)
            {
                failures[i] = ex;   // out of memory too: reported below with the file's name, not as a bare AggregateException
            }
            return resized;
        }, _ => { });
        for (int i = 0; i < failures.Length; i++)
        {
            if (failures[i] is not { } ex) continue;
            throw Failure((int)indices[i], ex);
        }
        return (Device.type == DeviceType.CPU ? batch : HostUpload.ToDevice(batch, Device)).MoveToOuterDisposeScope();
    }

    /// <summary>Decodes sample <paramref name="k"/>'s file; any decoder failure names the image and its metadata line.</summary>
    private DecodedImage Decode(int k) => Named(k, () => _decoder.Decode(_paths[k]));

    /// <summary>Runs <paramref name="work"/> on sample <paramref name="k"/>'s image; every failure names the image and its metadata line.</summary>
    private T Named<T>(int k, Func<T> work)
    {
        try
        {
            return work();
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            throw Failure(k, ex);
        }
    }

    /// <summary>
    /// The exception for a failure on sample <paramref name="k"/>'s image, naming the file and its metadata line: an
    /// <see cref="InsufficientMemoryException"/> (still an <see cref="OutOfMemoryException"/>) when memory ran out (a bitmap
    /// or a buffer that could not be allocated), an <see cref="InvalidDataException"/> otherwise.
    /// </summary>
    private Exception Failure(int k, Exception ex)
    {
        if (ex is InvalidDataException named && named.Message.StartsWith(_origins[k], StringComparison.Ordinal)) return named;
        return ex is OutOfMemoryException
            ? new InsufficientMemoryException($"{_origins[k]}: image '{_paths[k]}' could not be decoded: out of memory ({ex.Message})", ex)
            : new InvalidDataException($"{_origins[k]}: image '{_paths[k]}' could not be decoded: {ex.Message}", ex);
    }

    /// <summary>Augmentation on the per-image tensor path (decoders that cannot crop and resize): crop the drawn box, antialiased resize, flip.</summary>
    private Tensor GatherAugmentedTensors(long[] indices, ImageAugmentation aug, int[] occurrence)
    {
        using var scope = NewDisposeScope();
        var images = new Tensor[indices.Length];
        for (int i = 0; i < indices.Length; i++)
        {
            int k = (int)indices[i];
            var decoded = Decode(k);
            images[i] = Named(k, () =>
            {
                var x = torch.tensor(decoded.Rgb, [decoded.Height, decoded.Width, 3]).permute(2, 0, 1).to(ScalarType.Float32).div_(255f);
                var (left, top, w, h, flip) = aug.Draw((int)x.shape[2], (int)x.shape[1], AugmentationRng(indices[i], occurrence[i]));
                x = x.narrow(1, top, h).narrow(2, left, w);
                x = nn.functional.interpolate(x.unsqueeze(0), [aug.Size, aug.Size], mode: InterpolationMode.Bilinear, align_corners: false, antialias: true).squeeze(0);
                if (flip) x = x.flip(2);
                return _preprocessing.Normalize(x);
            });
        }
        return torch.stack(images).contiguous().to(Device).MoveToOuterDisposeScope();
    }
}
