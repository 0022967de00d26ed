using GroupRobust.Data.Images;
using SkiaSharp;

namespace GroupRobust.Imaging;

/// <summary>Decodes JPEG, PNG, WebP, GIF and BMP files with SkiaSharp into RGB (alpha dropped, unpremultiplied).</summary>
public sealed class SkiaImageDecoder : IImageDecoder
{
    /// <inheritdoc />
    public DecodedImage Decode(string path)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        if (!File.Exists(path)) throw new FileNotFoundException($"Image not found: {path}", path);
        using var codec = SKCodec.Create(path) ?? throw new InvalidDataException($"{path}: not a decodable image (unknown format or corrupted header).");
        var info = new SKImageInfo(codec.Info.Width, codec.Info.Height, SKColorType.Rgba8888, SKAlphaType.Unpremul);
        using var bitmap = new SKBitmap(info);
        var result = codec.GetPixels(info, bitmap.GetPixels());
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
