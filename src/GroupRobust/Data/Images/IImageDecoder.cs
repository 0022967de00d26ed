namespace GroupRobust.Data.Images;

/// <summary>
/// Decodes image files for <see cref="ImageFileDataset"/>. The core package ships <see cref="NetpbmImageDecoder"/>
/// (PGM/PPM, no dependencies); the companion package GroupRobust.Imaging adds JPEG/PNG/WebP decoding with SkiaSharp,
/// which the real Waterbirds and CelebA files need.
/// </summary>
public interface IImageDecoder
{
    /// <summary>Decodes <paramref name="path"/> to RGB.</summary>
    /// <exception cref="InvalidDataException">The file is not a decodable image (the message names it).</exception>
    DecodedImage Decode(string path);
}
