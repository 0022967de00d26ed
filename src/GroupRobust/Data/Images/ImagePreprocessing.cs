using TorchSharp;
using static TorchSharp.torch;

namespace GroupRobust.Data.Images;

/// <summary>
/// Deterministic (evaluation-style) preprocessing of decoded images, as torchvision composes it: optional center crop
/// of the raw image, optional resize (bilinear, antialiased), optional center crop, conversion to [0, 1], and
/// per-channel normalisation. Presets follow the GroupDRO reference code.
/// </summary>
public sealed record ImagePreprocessing
{
    /// <summary>ImageNet channel means.</summary>
    public static IReadOnlyList<float> ImageNetMean { get; } = [0.485f, 0.456f, 0.406f];

    /// <summary>ImageNet channel standard deviations.</summary>
    public static IReadOnlyList<float> ImageNetStd { get; } = [0.229f, 0.224f, 0.225f];

    private readonly int? _preCrop;
    private readonly (int Height, int Width)? _resize;
    private readonly int? _centerCrop;
    private readonly IReadOnlyList<float>? _mean;
    private readonly IReadOnlyList<float>? _std;

    /// <summary>Square center crop of the raw image before resizing (CelebA: 178); null for none.</summary>
    /// <exception cref="ArgumentOutOfRangeException">A side below 1.</exception>
    public int? PreCrop { get => _preCrop; init => _preCrop = Side(value, nameof(PreCrop)); }

    /// <summary>Resize to (height, width); null for none.</summary>
    /// <exception cref="ArgumentOutOfRangeException">A side below 1.</exception>
    public (int Height, int Width)? Resize
    {
        get => _resize;
        init => _resize = value is not { } r || (r.Height >= 1 && r.Width >= 1) ? value
            : throw new ArgumentOutOfRangeException(nameof(Resize), value, "Both sides of a resize must be at least 1 pixel, or null for none.");
    }

    /// <summary>Square center crop after resizing (Waterbirds: 224); null for none.</summary>
    /// <exception cref="ArgumentOutOfRangeException">A side below 1.</exception>
    public int? CenterCrop { get => _centerCrop; init => _centerCrop = Side(value, nameof(CenterCrop)); }

    /// <summary>Channel means subtracted after scaling to [0, 1] (three finite values, R, G, B); null for none. Give <see cref="Std"/> with it.</summary>
    /// <exception cref="ArgumentException">Not three finite values.</exception>
    public IReadOnlyList<float>? Mean { get => _mean; init => _mean = Channels(value, nameof(Mean), positive: false); }

    /// <summary>Channel standard deviations divided by (three finite values above 0); null for none. Give <see cref="Mean"/> with it.</summary>
    /// <exception cref="ArgumentException">Not three finite values above 0 (a 0 would make every pixel infinite).</exception>
    public IReadOnlyList<float>? Std { get => _std; init => _std = Channels(value, nameof(Std), positive: true); }

    private static int? Side(int? value, string name)
        => value is null or >= 1 ? value : throw new ArgumentOutOfRangeException(name, value, "A crop side must be at least 1 pixel, or null for none.");

    private static IReadOnlyList<float>? Channels(IReadOnlyList<float>? value, string name, bool positive)
    {
        if (value is null) return null;
        if (value.Count != 3 || value.Any(v => !float.IsFinite(v) || (positive && v <= 0)))
            throw new ArgumentException($"{name} is [{string.Join(", ", value)}] ({value.Count} values); expected 3 finite values (R, G, B){(positive ? " above 0" : "")}.", name);
        return value;
    }

    /// <summary>
    /// What the settings cannot tell alone, or null: <see cref="Mean"/> and <see cref="Std"/> come together, and the crop
    /// after a resize fits in it.
    /// </summary>
    internal string? Contradiction()
    {
        if ((Mean is null) != (Std is null))
            return $"{(Mean is null ? "Std" : "Mean")} is given without {(Mean is null ? "Mean" : "Std")}; normalisation needs both (or neither).";
        if (CenterCrop is int crop && Resize is var (h, w) && (crop > h || crop > w))
            return $"CenterCrop {crop} is larger than the resized {h} x {w} image.";
        return null;
    }

    /// <summary>Waterbirds (GroupDRO reference, no augmentation): resize to 256 x 256 (224 * 256 / 224), center crop 224, ImageNet normalisation.</summary>
    public static ImagePreprocessing Waterbirds { get; } = new() { Resize = (256, 256), CenterCrop = 224, Mean = ImageNetMean, Std = ImageNetStd };

    /// <summary>CelebA (GroupDRO reference): center crop 178, resize to 224 x 224, ImageNet normalisation.</summary>
    public static ImagePreprocessing CelebA { get; } = new() { PreCrop = 178, Resize = (224, 224), Mean = ImageNetMean, Std = ImageNetStd };

    /// <summary>Only scaling to [0, 1].</summary>
    public static ImagePreprocessing None { get; } = new();

    /// <summary>Applies the steps to one image; returns float32 [3, H', W'] on <paramref name="device"/>.</summary>
    /// <exception cref="InvalidOperationException">Mean without Std (or the reverse), or a center crop larger than the resize.</exception>
    /// <exception cref="ArgumentException">A crop larger than the image.</exception>
    public Tensor Apply(DecodedImage image, Device? device = null)
    {
        ArgumentNullException.ThrowIfNull(image);
        if (Contradiction() is string contradiction) throw new InvalidOperationException(contradiction);
        using var scope = NewDisposeScope();
        var x = torch.tensor(image.Rgb, [image.Height, image.Width, 3], device: device ?? CPU)
            .permute(2, 0, 1).to(ScalarType.Float32).div_(255f);
        if (PreCrop is int pre) x = Crop(x, pre);
        if (Resize is var (h, w))
            x = nn.functional.interpolate(x.unsqueeze(0), [h, w], mode: InterpolationMode.Bilinear, align_corners: false, antialias: true).squeeze(0);
        if (CenterCrop is int crop) x = Crop(x, crop);
        return Normalize(x).contiguous().MoveToOuterDisposeScope();
    }

    /// <summary>Per-channel normalisation of images in [0, 1], [3, H, W] or [B, 3, H, W]; unchanged without Mean and Std.</summary>
    internal Tensor Normalize(Tensor x)
    {
        if (Mean is null || Std is null) return x;
        var mean = torch.tensor(Mean.ToArray(), device: x.device).reshape(3, 1, 1);
        var std = torch.tensor(Std.ToArray(), device: x.device).reshape(3, 1, 1);
        return (x - mean) / std;
    }

    /// <summary>The centred square of side <paramref name="size"/> of an image [3, H, W] (torchvision's CenterCrop rounding).</summary>
    internal static Tensor CenterCropOf(Tensor x, int size) => Crop(x, size);

    private static Tensor Crop(Tensor x, int size)
    {
        long h = x.shape[1], w = x.shape[2];
        if (size > h || size > w)
            throw new ArgumentException($"Cannot center-crop {size} x {size} from an image of {h} x {w}.");
        long top = (long)Math.Round((h - size) / 2.0, MidpointRounding.AwayFromZero);
        long left = (long)Math.Round((w - size) / 2.0, MidpointRounding.AwayFromZero);
        return x.narrow(1, top, size).narrow(2, left, size);
    }

    /// <summary>Collections print as their items, not as "System.String[]" (the members of the compiler's <c>ToString</c>).</summary>
    private bool PrintMembers(System.Text.StringBuilder builder) => GroupRobust.Internal.RecordText.Print(this, builder);
}
