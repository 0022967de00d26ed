using System.Text;

namespace GroupRobust.Data.Images;

/// <summary>
/// Decodes binary Netpbm images: P5 (grayscale PGM, replicated to RGB) and P6 (RGB PPM), 8-bit (maxval &lt;= 255). Only
/// regular, non-empty files are read (never a device such as /dev/zero or a folder), and the header's width and height
/// are checked against the file's length and one image buffer before anything is allocated.
/// </summary>
public sealed class NetpbmImageDecoder : IImageDecoder
{
    /// <inheritdoc />
    /// <exception cref="FileNotFoundException">The file does not exist.</exception>
    public DecodedImage Decode(string path)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        if (!File.Exists(path) && !Directory.Exists(path)) throw new FileNotFoundException($"{path}: no such image.", path);
        if (!ImageFileDataset.IsRegularImageFile(path, out var why)) throw new InvalidDataException($"{path}: the file {why}.");
        var bytes = File.ReadAllBytes(path);
        int pos = 0;
        string magic = Token(bytes, ref pos, path);
        if (magic is not ("P5" or "P6")) throw new InvalidDataException($"{path}: magic '{magic}' is not a binary PGM (P5) or PPM (P6).");
        int width = Number(bytes, ref pos, path, "width");
        int height = Number(bytes, ref pos, path, "height");
        int maxval = Number(bytes, ref pos, path, "maxval");
        if (maxval is < 1 or > 255) throw new InvalidDataException($"{path}: maxval {maxval} is not supported (8-bit only).");
        pos++; // the single whitespace after maxval
        int channels = magic == "P6" ? 3 : 1;
        long pixels = (long)width * height;
        if (pixels > Array.MaxLength / 3)
            throw new InvalidDataException($"{path}: the header claims {width} x {height} pixels, more than one RGB image buffer holds ({Array.MaxLength / 3} pixels).");
        long need = pixels * channels;
        long have = Math.Max(0, bytes.Length - pos);
        if (have < need) throw new InvalidDataException($"{path}: truncated: {have} pixel bytes, expected {need} for {width} x {height} pixels.");
        var rgb = new byte[(long)width * height * 3];
        for (long i = 0; i < (long)width * height; i++)
        {
            for (int c = 0; c < 3; c++)
            {
                int v = bytes[pos + i * channels + (channels == 3 ? c : 0)];
                rgb[i * 3 + c] = (byte)(maxval == 255 ? v : v * 255 / maxval);
            }
        }
        return new DecodedImage(width, height, rgb);
    }

    /// <summary>Writes a binary PPM (P6) file, e.g. for test fixtures.</summary>
    internal static void WritePpm(string path, DecodedImage image)
    {
        ArgumentNullException.ThrowIfNull(image);
        using var f = File.Create(path);
        var header = Encoding.ASCII.GetBytes($"P6\n{image.Width} {image.Height}\n255\n");
        f.Write(header);
        f.Write(image.Rgb);
    }

    private static string Token(byte[] b, ref int pos, string path)
    {
        while (pos < b.Length)
        {
            if (b[pos] == '#') { while (pos < b.Length && b[pos] != '\n') pos++; }
            else if (char.IsWhiteSpace((char)b[pos])) pos++;
            else break;
        }
        int start = pos;
        while (pos < b.Length && !char.IsWhiteSpace((char)b[pos])) pos++;
        if (start == pos) throw new InvalidDataException($"{path}: truncated Netpbm header.");
        return Encoding.ASCII.GetString(b, start, pos - start);
    }

    private static int Number(byte[] b, ref int pos, string path, string what)
    {
        var t = Token(b, ref pos, path);
        return int.TryParse(t, out int v) && v > 0 ? v : throw new InvalidDataException($"{path}: header {what} '{t}' is not a positive integer.");
    }
}
