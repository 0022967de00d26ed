using GroupRobust.Data.Images;
using SkiaSharp;
using TorchSharp;

namespace GroupRobust.Imaging;

/// <summary>
/// Decodes JPEG, PNG, WebP, GIF and BMP files with SkiaSharp into RGB (alpha dropped, unpremultiplied). As an
/// <see cref="IScalingImageDecoder"/> it also crops and resizes without a tensor operation per image in the caller: with
/// <see cref="ScaledDecoding"/> (the default) a JPEG is decoded at the smallest scale of n/8 that keeps the region at
/// least the target's size (libjpeg's scaled IDCT, as Pillow's <c>draft</c>), then every image is resized with
/// torchvision's antialiased bilinear filter on uint8 (libtorch's vectorised kernel: Pillow's filter and rounding).
/// Thread-safe. Without scaled decoding the result is torchvision's <c>Resize</c> of the full-resolution image on a uint8
/// tensor; with it, it differs from that by the IDCT's low-pass (measured in the tests: mean absolute difference below
/// 0.01 on [0, 1]). An image whose header claims more than <see cref="MaxPixels"/> pixels (at the scale it is decoded at)
/// is refused before any pixel buffer is allocated: a few bytes of PNG can claim gigabytes.
/// </summary>
public sealed class SkiaImageDecoder : IScalingImageDecoder
{
    /// <summary>
    /// The most pixels an image may decode to: 178,956,970 (Pillow's decompression-bomb limit, twice its warning
    /// threshold), about 716 MB of RGBA; a header claiming more throws <see cref="InvalidDataException"/>.
    /// </summary>
    public const long MaxPixels = 178_956_970;

    /// <summary>
    /// Whether <see cref="IScalingImageDecoder"/> calls may decode a JPEG at a reduced scale of n/8 (n = 1 to 7, the
    /// smallest that keeps the cropped region at least the target's size) before the antialiased resize: about 1.4 times
    /// faster on Waterbirds-sized images (500 x 375 to 256 x 256 decodes at 6/8). Default true; false decodes every image
    /// at full resolution, so the resize equals torchvision's on the decoded image. <see cref="Decode"/> always decodes
    /// at full resolution.
    /// </summary>
    public bool ScaledDecoding { get; init; } = true;

    private static void CheckSize(string path, int width, int height, string what)
    {
        if (width < 1 || height < 1 || (long)width * height > MaxPixels)
            throw new InvalidDataException($"{path}: the header claims {width} x {height} pixels{what}; more than {MaxPixels} are refused (a corrupted header or a decompression bomb).");
    }

    /// <inheritdoc />
    public void DecodeResized(string path, int? preCrop, int height, int width, Span<byte> destination)
        => DecodeBox(path, preCrop, (w, h) => (0, 0, w, h, false), height, width, destination);

    /// <inheritdoc />
    public void DecodeBox(string path, int? preCrop, Func<int, int, (int Left, int Top, int Width, int Height, bool Flip)> box, int height, int width, Span<byte> destination)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        ArgumentNullException.ThrowIfNull(box);
        ArgumentOutOfRangeException.ThrowIfLessThan(height, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(width, 1);
        if (destination.Length != height * width * 3)
            throw new ArgumentException($"'destination' has {destination.Length} bytes; {height} x {width} RGB needs {height * width * 3}.", nameof(destination));
        if (!File.Exists(path)) throw new FileNotFoundException($"Image not found: {path}", path);
        try
        {
            DecodeBoxChecked(path, preCrop, box, height, width, destination);
        }
        catch (Exception ex) when (Unnamed(ex))
        {
            throw Named(path, ex);
        }
    }

    /// <summary>A failure whose message does not name the file yet (Skia's own exceptions, an allocation that failed).</summary>
    private static bool Unnamed(Exception ex) => ex is not (InvalidDataException or FileNotFoundException or ArgumentException or OperationCanceledException);

    /// <summary>The failure with the file's name: out of memory stays an <see cref="OutOfMemoryException"/> (<see cref="InsufficientMemoryException"/>), anything else is invalid data.</summary>
    private static Exception Named(string path, Exception ex) => ex is OutOfMemoryException
        ? new InsufficientMemoryException($"{path}: not enough memory to decode the image ({ex.Message}).", ex)
        : new InvalidDataException($"{path}: decoding failed ({ex.GetType().Name}: {ex.Message}).", ex);

    /// <summary>The bitmap's pixels, or an exception naming the file when Skia could not allocate them.</summary>
    private static IntPtr Pixels(string path, SKBitmap bitmap, SKImageInfo info)
    {
        var pixels = bitmap.GetPixels();
        if (pixels == IntPtr.Zero)
            throw new InsufficientMemoryException($"{path}: Skia could not allocate a {info.Width} x {info.Height} bitmap ({(long)info.BytesSize64} bytes).");
        return pixels;
    }

    /// <summary>
    /// A decode buffer per thread (RGBA of the largest image decoded on it so far, up to <see cref="KeptBufferBytes"/>),
    /// so that a batch's images allocate nothing per image; the tensors that read it are disposed before the call returns.
    /// </summary>
    [ThreadStatic] private static byte[]? t_pixels;

    /// <summary>The largest decode buffer a thread keeps between calls: 16 MB (4 megapixels); a larger image gets a buffer of its own.</summary>
    private const long KeptBufferBytes = 16L << 20;

    private static byte[] PixelBuffer(long bytes)
    {
        if (t_pixels is { } buffer && buffer.LongLength >= bytes) return buffer;
        var fresh = GC.AllocateUninitializedArray<byte>(checked((int)Math.Max(bytes, 1)), pinned: true);
        if (bytes <= KeptBufferBytes) t_pixels = fresh;
        return fresh;
    }

    private unsafe void DecodeBoxChecked(string path, int? preCrop, Func<int, int, (int Left, int Top, int Width, int Height, bool Flip)> box, int height, int width, Span<byte> destination)
    {
        using var data = SKData.Create(path) ?? throw new InvalidDataException($"{path}: the file cannot be read.");
        using var codec = SKCodec.Create(data) ?? throw new InvalidDataException($"{path}: not a decodable image (unknown format or corrupted header).");
        int fullW = codec.Info.Width, fullH = codec.Info.Height;
        // the (pre-cropped) image in full-resolution pixels: the centred square of preCrop, or the whole image
        int side = preCrop ?? 0;
        if (side > fullW || side > fullH) throw new InvalidDataException($"{path}: cannot center-crop {side} x {side} from an image of {fullH} x {fullW}.");
        int imgW = side > 0 ? side : fullW, imgH = side > 0 ? side : fullH;
        int imgTop = side > 0 ? (int)Math.Round((fullH - side) / 2.0, MidpointRounding.AwayFromZero) : 0;
        int imgLeft = side > 0 ? (int)Math.Round((fullW - side) / 2.0, MidpointRounding.AwayFromZero) : 0;
        var (boxLeft, boxTop, srcW, srcH, flip) = box(imgW, imgH);
        if (srcW < 1 || srcH < 1 || boxLeft < 0 || boxTop < 0 || boxLeft + srcW > imgW || boxTop + srcH > imgH)
            throw new ArgumentException($"The box ({boxLeft}, {boxTop}, {srcW} x {srcH}) is not inside the {imgW} x {imgH} image.", nameof(box));
        int srcLeft = imgLeft + boxLeft, srcTop = imgTop + boxTop;
        // decode at the smallest scale of n/8 the codec supports (JPEG: libjpeg's scaled IDCT, which low-passes) that
        // keeps the source region at least the target's size, so that the resize after it reduces by less than n/(n - 1)
        // (at most 2), unless even 1/8 leaves the region larger
        float scale = 1f, scaleY = 1f;
        var dims = codec.Info.Size;
        for (int eighths = 1; eighths < 8 && ScaledDecoding; eighths++)
        {
            var d = codec.GetScaledDimensions(eighths / 8f);
            float sx = (float)d.Width / fullW, sy = (float)d.Height / fullH;
            if (srcW * sx >= width && srcH * sy >= height && d.Width < fullW)
            {
                scale = sx;
                scaleY = sy;
                dims = d;
                break;
            }
        }
        CheckSize(path, dims.Width, dims.Height, dims.Width == fullW ? "" : $" at the decoding scale ({fullW} x {fullH} in all)");
        var info = new SKImageInfo(dims.Width, dims.Height, SKColorType.Rgba8888, SKAlphaType.Unpremul);
        var pixels = PixelBuffer((long)dims.Width * dims.Height * 4);
        SKCodecResult result;
        fixed (byte* p = pixels) result = codec.GetPixels(info, (IntPtr)p);
        if (result == SKCodecResult.IncompleteInput) throw new InvalidDataException($"{path}: the image data is truncated.");
        if (result != SKCodecResult.Success) throw new InvalidDataException($"{path}: decoding failed ({result}).");
        var region = scale == 1f
            ? new SKRectI(srcLeft, srcTop, srcLeft + srcW, srcTop + srcH)
            : SKRectI.Create(Math.Min(dims.Width - 1, (int)Math.Round(srcLeft * scale)), Math.Min(dims.Height - 1, (int)Math.Round(srcTop * scaleY)),
                Math.Max(1, (int)Math.Round(srcW * scale)), Math.Max(1, (int)Math.Round(srcH * scaleY)));
        region.Intersect(new SKRectI(0, 0, dims.Width, dims.Height));
        Resize(pixels, dims.Width, dims.Height, region, height, width, flip, destination);
    }

    /// <summary>
    /// Resizes <paramref name="region"/> of the RGBA image in <paramref name="pixels"/> to <paramref name="height"/> x
    /// <paramref name="width"/> with torchvision's antialiased bilinear filter on uint8 (libtorch's vectorised kernel,
    /// Pillow's filter and rounding), and writes the RGB bytes, mirrored when <paramref name="flip"/>, into
    /// <paramref name="destination"/>.
    /// </summary>
    private static void Resize(byte[] pixels, int stride, int rows, SKRectI region, int height, int width, bool flip, Span<byte> destination)
    {
        using var scope = torch.NewDisposeScope();
        var image = torch.frombuffer(pixels, torch.ScalarType.Byte, (long)stride * rows * 4, 0).view(rows, stride, 4);
        if (region.Left != 0 || region.Top != 0 || region.Width != stride || region.Height != rows)
            image = image.narrow(0, region.Top, region.Height).narrow(1, region.Left, region.Width).contiguous();
        if (region.Width != width || region.Height != height)
            // [1, 4, H, W] in channels-last memory: the layout libtorch's uint8 kernel takes (alpha is resized as a fourth channel)
            image = torch.nn.functional.interpolate(image.unsqueeze(0).permute(0, 3, 1, 2), [height, width], mode: torch.InterpolationMode.Bilinear,
                align_corners: false, antialias: true).permute(0, 2, 3, 1).contiguous().squeeze(0);
        ReadOnlySpan<byte> rgba = image.bytes;
        for (int y = 0; y < height; y++)
        {
            var row = rgba.Slice(y * width * 4, width * 4);
            var outRow = destination.Slice(y * width * 3, width * 3);
            for (int x = 0, i = 0; x < width; x++, i += 3)
            {
                int j = 4 * (flip ? width - 1 - x : x);
                outRow[i] = row[j];
                outRow[i + 1] = row[j + 1];
                outRow[i + 2] = row[j + 2];
            }
        }
    }

    /// <inheritdoc />
    public DecodedImage Decode(string path)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        if (!File.Exists(path)) throw new FileNotFoundException($"Image not found: {path}", path);
        try
        {
            return DecodeChecked(path);
        }
        catch (Exception ex) when (Unnamed(ex))
        {
            throw Named(path, ex);
        }
    }

    private static DecodedImage DecodeChecked(string path)
    {
        using var codec = SKCodec.Create(path) ?? throw new InvalidDataException($"{path}: not a decodable image (unknown format or corrupted header).");
        CheckSize(path, codec.Info.Width, codec.Info.Height, "");
        var info = new SKImageInfo(codec.Info.Width, codec.Info.Height, SKColorType.Rgba8888, SKAlphaType.Unpremul);
        using var bitmap = new SKBitmap(info);
        var result = codec.GetPixels(info, Pixels(path, bitmap, info));
        if (result is not (SKCodecResult.Success or SKCodecResult.IncompleteInput))
            throw new InvalidDataException($"{path}: decoding failed ({result}).");
        if (result == SKCodecResult.IncompleteInput)
            throw new InvalidDataException($"{path}: the image data is truncated.");
        var rgba = bitmap.Bytes;
        var rgb = new byte[info.Width * info.Height * 3];
        for (int i = 0, j = 0; i < rgb.Length; i += 3, j += 4)
        {
            rgb[i] = rgba[j];
            rgb[i + 1] = rgba[j + 1];
            rgb[i + 2] = rgba[j + 2];
        }
        return new DecodedImage(info.Width, info.Height, rgb);
    }

    /// <summary>Encodes RGB pixels as a file (format from the extension: .jpg/.jpeg, .png, .webp), e.g. for test fixtures.</summary>
    public static void Encode(string path, DecodedImage image, int quality = 95)
    {
        ArgumentNullException.ThrowIfNull(image);
        var format = Path.GetExtension(path).ToLowerInvariant() switch
        {
            ".jpg" or ".jpeg" => SKEncodedImageFormat.Jpeg,
            ".png" => SKEncodedImageFormat.Png,
            ".webp" => SKEncodedImageFormat.Webp,
            var ext => throw new ArgumentException($"Unsupported image extension '{ext}'.", nameof(path)),
        };
        var info = new SKImageInfo(image.Width, image.Height, SKColorType.Rgba8888, SKAlphaType.Unpremul);
        using var bitmap = new SKBitmap(info);
        var rgba = new byte[image.Width * image.Height * 4];
        for (int i = 0, j = 0; i < image.Rgb.Length; i += 3, j += 4)
        {
            rgba[j] = image.Rgb[i];
            rgba[j + 1] = image.Rgb[i + 1];
            rgba[j + 2] = image.Rgb[i + 2];
            rgba[j + 3] = 255;
        }
        System.Runtime.InteropServices.Marshal.Copy(rgba, 0, bitmap.GetPixels(), rgba.Length);
        using var data = bitmap.Encode(format, quality) ?? throw new InvalidOperationException($"SkiaSharp could not encode {path}.");
        File.WriteAllBytes(path, data.ToArray());
    }
}
