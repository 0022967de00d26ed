using GroupRobust.Internal;
using GroupRobust.Groups;
using TorchSharp;
using static TorchSharp.torch;

namespace GroupRobust.Data;

/// <summary>
/// Grayscale images whose background is tinted with one of a palette of colours: the spurious attribute of the
/// colored (Fashion-)MNIST benchmarks. Storage stays lean (uint8 images and one colour index per sample); each batch is
/// coloured on the fly on the storage device: rgb = x + (1 - x) * colour, x the grayscale in [0, 1], so the garment
/// keeps its shading and the background takes the colour. Batches are float32 [B, 3, H, W].
/// </summary>
public sealed class ColoredImageDataset : GroupDatasetBase
{
    private readonly Tensor _images;
    private readonly Tensor _colours;
    private readonly Tensor _palette;

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
        : base(scheme, labels, colours ?? throw new ArgumentNullException(nameof(colours)), device ?? CPU)
    {
        ArgumentNullException.ThrowIfNull(images);
        ArgumentNullException.ThrowIfNull(palette);
        int n = labels.Length;
        if ((long)height * width * n != images.Length)
            throw new ArgumentException($"'images' has {images.Length} bytes; expected {n} x {height} x {width}.", nameof(images));
        if (palette.Length != 3 * scheme.NumAttributes)
            throw new ArgumentException($"'palette' has {palette.Length} values; expected 3 per colour for {scheme.NumAttributes} colours.", nameof(palette));
        Height = height;
        Width = width;
        _images = torch.tensor(images, [n, height, width], device: Device).DetachFromDisposeScope();
        _colours = torch.tensor(colours.Select(c => (long)c).ToArray(), ScalarType.Int64, Device).DetachFromDisposeScope();
        _palette = torch.tensor(palette, [scheme.NumAttributes, 3], device: Device).DetachFromDisposeScope();
    }

    /// <summary>Image height.</summary>
    public int Height { get; }

    /// <summary>Image width.</summary>
    public int Width { get; }

    /// <inheritdoc />
    protected override Tensor GatherInputs(long[] indices)
    {
        var index = HostUpload.Int64(indices, Device);
        var gray = _images.index_select(0, index).to(ScalarType.Float32).div_(255f).unsqueeze(1);       // [B, 1, H, W]
        var colour = _palette.index_select(0, _colours.index_select(0, index)).reshape(indices.Length, 3, 1, 1);
        return gray + (1f - gray) * colour;
    }

    /// <inheritdoc />
    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            _images.Dispose();
            _colours.Dispose();
            _palette.Dispose();
        }
        base.Dispose(disposing);
    }
}
