using GroupRobust.Groups;
using GroupRobust.Internal;
using TorchSharp;
using static TorchSharp.torch;

namespace GroupRobust.Data;

/// <summary>
/// Grayscale images whose background is tinted with one of a palette of colours: the spurious attribute of the
/// colored (Fashion-)MNIST benchmarks. Storage stays lean (uint8 images and one colour index per sample); each batch is
/// coloured on the fly on the storage device: rgb = x + (1 - x) * colour, x the grayscale in [0, 1], so the garment
/// keeps its shading and the background takes the colour. Batches are float32 [B, 3, H, W].
/// </summary>
public sealed class ColoredImageDataset : IGroupDataset, IDisposable
{
    private readonly Tensor _images;
    private readonly Tensor _colours;
    private readonly Tensor _palette;
    private readonly Tensor _labels;
    private readonly int[] _hostLabels;
    private readonly int[] _hostGroups;

    /// <summary>Creates the dataset (copies the data into tensors on <paramref name="device"/>).</summary>
    /// <param name="images">Grayscale pixels, row-major [N, height, width].</param>
    /// <param name="height">Image height.</param>
    /// <param name="width">Image width.</param>
    /// <param name="labels">Labels [N] in [0, C).</param>
    /// <param name="colours">Background colour index [N] in [0, A); it is the sample's attribute.</param>
    /// <param name="palette">RGB colours in [0, 1], one triple per attribute value (A x 3 values).</param>
    /// <param name="scheme">C classes by A colours.</param>
    /// <param name="device">Storage device (CPU by default).</param>
    public ColoredImageDataset(byte[] images, int height, int width, int[] labels, int[] colours, float[] palette, GroupScheme scheme, Device? device = null)
    {
        ArgumentNullException.ThrowIfNull(images);
        ArgumentNullException.ThrowIfNull(labels);
        ArgumentNullException.ThrowIfNull(colours);
        ArgumentNullException.ThrowIfNull(palette);
        ArgumentNullException.ThrowIfNull(scheme);
        int n = labels.Length;
        if (n == 0) throw new ArgumentException("The dataset has no samples.", nameof(labels));
        if (colours.Length != n) throw new ArgumentException($"'colours' has {colours.Length} entries but 'labels' has {n}.", nameof(colours));
        if ((long)height * width * n != images.Length)
            throw new ArgumentException($"'images' has {images.Length} bytes; expected {n} x {height} x {width}.", nameof(images));
        if (palette.Length != 3 * scheme.NumAttributes)
            throw new ArgumentException($"'palette' has {palette.Length} values; expected 3 per colour for {scheme.NumAttributes} colours.", nameof(palette));
        _hostLabels = labels.ToArray();
        _hostGroups = new int[n];
        for (int i = 0; i < n; i++)
        {
            scheme.CheckLabel(labels[i], nameof(labels));
            if ((uint)colours[i] >= (uint)scheme.NumAttributes)
                throw new ArgumentOutOfRangeException(nameof(colours), colours[i], $"Colour of sample {i} is {colours[i]}; expected [0, {scheme.NumAttributes - 1}].");
            _hostGroups[i] = labels[i] * scheme.NumAttributes + colours[i];
        }
        Scheme = scheme;
        Height = height;
        Width = width;
        var dev = device ?? CPU;
        _images = torch.tensor(images, [n, height, width], device: dev).DetachFromDisposeScope();
        _colours = torch.tensor(colours.Select(c => (long)c).ToArray(), ScalarType.Int64, dev).DetachFromDisposeScope();
        _labels = torch.tensor(labels.Select(c => (long)c).ToArray(), ScalarType.Int64, dev).DetachFromDisposeScope();
        _palette = torch.tensor(palette, [scheme.NumAttributes, 3], device: dev).DetachFromDisposeScope();
    }

    /// <inheritdoc />
    public int Count => _hostLabels.Length;

    /// <inheritdoc />
    public GroupScheme Scheme { get; }

    /// <inheritdoc />
    public ReadOnlyMemory<int> Labels => _hostLabels;

    /// <inheritdoc />
    public bool HasGroups => true;

    /// <inheritdoc />
    public ReadOnlyMemory<int> Groups => _hostGroups;

    /// <inheritdoc />
    public Device Device => _images.device;

    /// <summary>Image height.</summary>
    public int Height { get; }

    /// <summary>Image width.</summary>
    public int Width { get; }

    /// <inheritdoc />
    public Batch GetBatch(ReadOnlySpan<long> indices)
    {
        if (indices.Length == 0) throw new ArgumentException("At least one index is needed.", nameof(indices));
        var idx = indices.ToArray();
        for (int i = 0; i < idx.Length; i++)
            if ((ulong)idx[i] >= (ulong)Count)
                throw new ArgumentOutOfRangeException(nameof(indices), idx[i], $"Index at position {i} is {idx[i]}; the dataset has {Count} samples.");
        using var scope = NewDisposeScope();
        var index = torch.tensor(idx, ScalarType.Int64, _images.device);
        var gray = _images.index_select(0, index).to(ScalarType.Float32).div_(255f).unsqueeze(1);       // [B, 1, H, W]
        var colour = _palette.index_select(0, _colours.index_select(0, index)).reshape(idx.Length, 3, 1, 1);
        var rgb = gray + (1f - gray) * colour;
        var y = _labels.index_select(0, index);
        var g = y * Scheme.NumAttributes + _colours.index_select(0, index);
        return new Batch(rgb, y, g, idx).MoveToOuterDisposeScope();
    }

    /// <inheritdoc />
    public void Dispose()
    {
        _images.Dispose();
        _colours.Dispose();
        _labels.Dispose();
        _palette.Dispose();
    }
}
