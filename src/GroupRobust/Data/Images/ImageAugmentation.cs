namespace GroupRobust.Data.Images;

/// <summary>
/// Train-time augmentation of images, as the references' <c>--augment_data</c> (group_DRO, JTT): a random resized
/// crop (a box covering a uniform fraction of the image's area in <see cref="Scale"/>, with a log-uniform aspect ratio
/// in <see cref="Ratio"/>, resized to <see cref="Size"/> x <see cref="Size"/>; torchvision's RandomResizedCrop, ten
/// attempts, then the centre crop) and a horizontal flip with probability <see cref="FlipProbability"/>, applied to
/// the whole decoded image as group_DRO's training transforms are. It replaces the preprocessing's pre-crop, resize and
/// centre crop; the normalisation still applies.
/// </summary>
public sealed record ImageAugmentation
{
    /// <summary>Output side in pixels (default 224).</summary>
    public int Size { get; init; } = 224;

    /// <summary>Range of the box's area as a fraction of the image's (default (0.7, 1.0), group_DRO's).</summary>
    public (double Min, double Max) Scale { get; init; } = (0.7, 1.0);

    /// <summary>Range of the box's aspect ratio, width / height (default (3/4, 4/3), group_DRO's for Waterbirds; CelebA uses (1, 4/3)).</summary>
    public (double Min, double Max) Ratio { get; init; } = (3.0 / 4.0, 4.0 / 3.0);

    /// <summary>Probability of a horizontal flip (default 0.5).</summary>
    public double FlipProbability { get; init; } = 0.5;

    /// <summary>group_DRO's Waterbirds (CUB) training augmentation.</summary>
    public static ImageAugmentation Waterbirds { get; } = new();

    /// <summary>group_DRO's CelebA training augmentation (aspect ratio 1 to 4/3).</summary>
    public static ImageAugmentation CelebA { get; } = new() { Ratio = (1.0, 4.0 / 3.0) };

    /// <summary>Throws when an option is out of range.</summary>
    public void Validate()
    {
        if (Size < 1) throw new ArgumentOutOfRangeException(nameof(Size), Size, "The output side must be at least 1 pixel.");
        if (!(Scale.Min > 0 && Scale.Min <= Scale.Max && Scale.Max <= 1)) throw new ArgumentOutOfRangeException(nameof(Scale), Scale, "Need 0 < min <= max <= 1.");
        if (!(Ratio.Min > 0 && Ratio.Min <= Ratio.Max && double.IsFinite(Ratio.Max))) throw new ArgumentOutOfRangeException(nameof(Ratio), Ratio, "Need 0 < min <= max, finite.");
        if (!(FlipProbability >= 0 && FlipProbability <= 1)) throw new ArgumentOutOfRangeException(nameof(FlipProbability), FlipProbability, "Must be in [0, 1].");
    }

    /// <summary>
    /// The box (left, top, width, height) in pixels of a <paramref name="width"/> x <paramref name="height"/> image and the
    /// flip, drawn from <paramref name="rng"/> as torchvision's RandomResizedCrop and RandomHorizontalFlip draw them.
    /// </summary>
    public (int Left, int Top, int Width, int Height, bool Flip) Draw(int width, int height, Random rng)
    {
        ArgumentNullException.ThrowIfNull(rng);
        double area = (double)width * height;
        double logMin = Math.Log(Ratio.Min), logMax = Math.Log(Ratio.Max);
        (int, int, int, int)? box = null;
        for (int attempt = 0; attempt < 10 && box is null; attempt++)
        {
            double target = area * (Scale.Min + (Scale.Max - Scale.Min) * rng.NextDouble());
            double ratio = Math.Exp(logMin + (logMax - logMin) * rng.NextDouble());
            int w = (int)Math.Round(Math.Sqrt(target * ratio)), h = (int)Math.Round(Math.Sqrt(target / ratio));
            if (w > 0 && h > 0 && w <= width && h <= height)
                box = (rng.Next(width - w + 1), rng.Next(height - h + 1), w, h);
        }
        if (box is null)
        {
            // torchvision's fallback: the centre crop at the nearest allowed ratio
            double inRatio = (double)width / height;
            int w = width, h = height;
            if (inRatio < Ratio.Min) h = (int)Math.Round(w / Ratio.Min);
            else if (inRatio > Ratio.Max) w = (int)Math.Round(h * Ratio.Max);
            box = ((width - w) / 2, (height - h) / 2, w, h);
        }
        bool flip = rng.NextDouble() < FlipProbability;
        var (l, t, bw, bh) = box.Value;
        return (l, t, bw, bh, flip);
    }
}
