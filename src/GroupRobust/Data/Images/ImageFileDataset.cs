using GroupRobust.Groups;
using TorchSharp;
using static TorchSharp.torch;

namespace GroupRobust.Data.Images;

/// <summary>
/// Images on disk with labels and optional attributes, decoded and preprocessed lazily, batch by batch (the memory
/// held is the file list). Used by the Waterbirds, CelebA and normalized-CSV loaders.
/// </summary>
public sealed class ImageFileDataset : IGroupDataset
{
    private readonly string[] _paths;
    private readonly string[] _origins;
    private readonly int[] _labels;
    private readonly int[] _groups;
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
    {
        ArgumentNullException.ThrowIfNull(paths);
        ArgumentNullException.ThrowIfNull(labels);
        ArgumentNullException.ThrowIfNull(scheme);
        ArgumentNullException.ThrowIfNull(decoder);
        ArgumentNullException.ThrowIfNull(preprocessing);
        if (paths.Count == 0) throw new ArgumentException("The dataset has no samples.", nameof(paths));
        if (labels.Count != paths.Count) throw new ArgumentException($"{labels.Count} labels for {paths.Count} paths.", nameof(labels));
        if (attributes is not null && attributes.Count != paths.Count) throw new ArgumentException($"{attributes.Count} attributes for {paths.Count} paths.", nameof(attributes));
        _paths = paths.ToArray();
        _origins = origins?.ToArray() ?? _paths.Select((_, i) => $"sample {i}").ToArray();
        _labels = labels.ToArray();
        for (int i = 0; i < _labels.Length; i++)
            if ((uint)_labels[i] >= (uint)scheme.NumClasses)
                throw new ArgumentOutOfRangeException(nameof(labels), _labels[i], $"{_origins[i]}: label {_labels[i]} is out of range [0, {scheme.NumClasses - 1}].");
        _groups = attributes is null ? [] : new int[_paths.Length];
        if (attributes is not null)
            for (int i = 0; i < _groups.Length; i++)
            {
                if ((uint)attributes[i] >= (uint)scheme.NumAttributes)
                    throw new ArgumentOutOfRangeException(nameof(attributes), attributes[i], $"{_origins[i]}: attribute {attributes[i]} is out of range [0, {scheme.NumAttributes - 1}].");
                _groups[i] = _labels[i] * scheme.NumAttributes + attributes[i];
            }
        Scheme = scheme;
        _decoder = decoder;
        _preprocessing = preprocessing;
        Device = device ?? CPU;
    }

    /// <inheritdoc />
    public int Count => _paths.Length;

    /// <inheritdoc />
    public GroupScheme Scheme { get; }

    /// <inheritdoc />
    public ReadOnlyMemory<int> Labels => _labels;

    /// <inheritdoc />
    public bool HasGroups => _groups.Length > 0;

    /// <inheritdoc />
    public ReadOnlyMemory<int> Groups => _groups;

    /// <inheritdoc />
    public Device Device { get; }

    /// <summary>The image file of sample <paramref name="index"/>.</summary>
    public string PathOf(int index) => _paths[index];

    /// <inheritdoc />
    public Batch GetBatch(ReadOnlySpan<long> indices)
    {
        if (indices.Length == 0) throw new ArgumentException("At least one index is needed.", nameof(indices));
        var idx = indices.ToArray();
        using var scope = NewDisposeScope();
        var images = new Tensor[idx.Length];
        for (int i = 0; i < idx.Length; i++)
        {
            if ((ulong)idx[i] >= (ulong)Count)
                throw new ArgumentOutOfRangeException(nameof(indices), idx[i], $"Index at position {i} is {idx[i]}; the dataset has {Count} samples.");
            int k = (int)idx[i];
            if (!File.Exists(_paths[k])) throw new FileNotFoundException($"{_origins[k]}: image '{_paths[k]}' does not exist.", _paths[k]);
            DecodedImage decoded;
            try
            {
                decoded = _decoder.Decode(_paths[k]);
            }
            catch (Exception ex) when (ex is InvalidDataException or IOException)
            {
                throw new InvalidDataException($"{_origins[k]}: image '{_paths[k]}' could not be decoded: {ex.Message}", ex);
            }
            images[i] = _preprocessing.Apply(decoded, Device);
            if (i > 0 && !images[i].shape.SequenceEqual(images[0].shape))
                throw new InvalidDataException($"{_origins[k]}: image '{_paths[k]}' preprocesses to [{string.Join(", ", images[i].shape)}] but the batch's first image to [{string.Join(", ", images[0].shape)}]; add a resize to the preprocessing.");
        }
        var x = torch.stack(images);
        var y = torch.tensor(idx.Select(i => (long)_labels[i]).ToArray(), ScalarType.Int64, Device);
        var g = HasGroups ? torch.tensor(idx.Select(i => (long)_groups[i]).ToArray(), ScalarType.Int64, Device) : null;
        return new Batch(x, y, g, idx).MoveToOuterDisposeScope();
    }
}
