using System.IO.Compression;

namespace GroupRobust.Data.Idx;

/// <summary>
/// Reads and writes IDX files (LeCun's MNIST format, also Fashion-MNIST's), plain or gzip-compressed. Only the
/// unsigned-byte element type (0x08) is supported, the one these datasets use. Every check names the file: magic
/// number, element type, dimension count and sizes, and the data length (truncated or over-long files).
/// </summary>
internal static class IdxFile
{
    private const byte UnsignedByte = 0x08;

    /// <summary>Reads an IDX file; a name ending in ".gz" (or gzip magic bytes) is decompressed.</summary>
    /// <param name="path">The file.</param>
    /// <exception cref="FileNotFoundException">The file does not exist.</exception>
    /// <exception cref="InvalidDataException">The file is not a valid unsigned-byte IDX file; the message says what is wrong.</exception>
    public static IdxArray Read(string path)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        if (!File.Exists(path)) throw new FileNotFoundException($"IDX file not found: {path}", path);
        using var file = File.OpenRead(path);
        Span<byte> head = stackalloc byte[2];
        int got = file.Read(head);
        file.Position = 0;
        bool gz = got == 2 && head[0] == 0x1f && head[1] == 0x8b;
        using Stream stream = gz ? new GZipStream(file, CompressionMode.Decompress) : file;
        try
        {
            return Read(stream, path);
        }
        catch (InvalidDataException ex) when (gz && !ex.Message.StartsWith(path, StringComparison.Ordinal))
        {
            throw new InvalidDataException($"{path}: corrupted gzip stream: {ex.Message}", ex);
        }
    }

    /// <summary>Reads an (uncompressed) IDX stream.</summary>
    /// <param name="stream">The stream, positioned at the magic number.</param>
    /// <param name="source">Name used in error messages.</param>
    public static IdxArray Read(Stream stream, string source = "<stream>")
    {
        ArgumentNullException.ThrowIfNull(stream);
        var header = new byte[4];
        ReadExactly(stream, header, source, "the 4-byte magic number");
        if (header[0] != 0 || header[1] != 0)
            throw new InvalidDataException($"{source}: bad magic number {header[0]:X2}{header[1]:X2}{header[2]:X2}{header[3]:X2}; an IDX file starts with two zero bytes.");
        if (header[2] != UnsignedByte)
            throw new InvalidDataException($"{source}: element type 0x{header[2]:X2} is not supported; only unsigned bytes (0x08) are.");
        int dims = header[3];
        if (dims < 1 || dims > 4)
            throw new InvalidDataException($"{source}: {dims} dimensions; expected 1 to 4.");
        var sizes = new int[dims];
        var buf = new byte[4];
        long total = 1;
        for (int d = 0; d < dims; d++)
        {
            ReadExactly(stream, buf, source, $"the size of dimension {d}");
            long size = ((long)buf[0] << 24) | ((long)buf[1] << 16) | ((long)buf[2] << 8) | buf[3];
            if (size <= 0 || size > int.MaxValue)
                throw new InvalidDataException($"{source}: dimension {d} has size {size}; expected 1 to {int.MaxValue}.");
            sizes[d] = (int)size;
            total *= size;
            if (total > Array.MaxLength)
                throw new InvalidDataException($"{source}: the dimensions [{string.Join(", ", sizes.Take(d + 1))}] describe more than {Array.MaxLength} values.");
        }
        var data = ReadData(stream, total, source, $"{total} data bytes for dimensions [{string.Join(", ", sizes)}]");
        if (stream.ReadByte() != -1)
            throw new InvalidDataException($"{source}: extra bytes follow the {total} data bytes of dimensions [{string.Join(", ", sizes)}].");
        return new IdxArray(sizes, data);
    }

    /// <summary>
    /// The data bytes, with the header's size checked before the array is allocated: against the remaining length of a
    /// seekable stream, and for a compressed stream by reading in chunks, so a header claiming gigabytes in a small file
    /// fails with the file's name instead of allocating them.
    /// </summary>
    private static byte[] ReadData(Stream stream, long total, string source, string what)
    {
        if (stream.CanSeek)
        {
            long remaining = stream.Length - stream.Position;
            if (total > remaining)
                throw new InvalidDataException($"{source}: truncated: the header announces {what} but only {remaining} bytes follow it.");
            var data = new byte[total];
            ReadExactly(stream, data, source, what);
            return data;
        }
        const int chunk = 1 << 20;
        using var buffer = new MemoryStream((int)Math.Min(total, 16L << 20));
        var part = new byte[chunk];
        long read = 0;
        while (read < total)
        {
            int n = stream.Read(part, 0, (int)Math.Min(chunk, total - read));
            if (n == 0) throw new InvalidDataException($"{source}: truncated: expected {what}, the data ends after {read} bytes.");
            buffer.Write(part, 0, n);
            read += n;
        }
        return buffer.ToArray();
    }

    /// <summary>Writes an unsigned-byte IDX file; gzip-compressed when <paramref name="path"/> ends in ".gz".</summary>
    internal static void Write(string path, IdxArray array)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        ArgumentNullException.ThrowIfNull(array);
        long expected = array.Dimensions.Aggregate(1L, (a, b) => a * b);
        if (array.Dimensions.Length is < 1 or > 4 || array.Dimensions.Any(d => d <= 0) || expected != array.Data.Length)
            throw new ArgumentException($"Dimensions [{string.Join(", ", array.Dimensions)}] do not describe {array.Data.Length} values.", nameof(array));
        using var file = File.Create(path);
        using Stream stream = path.EndsWith(".gz", StringComparison.OrdinalIgnoreCase) ? new GZipStream(file, CompressionLevel.Fastest) : file;
        stream.Write([0, 0, UnsignedByte, (byte)array.Dimensions.Length]);
        foreach (var d in array.Dimensions)
            stream.Write([(byte)(d >> 24), (byte)(d >> 16), (byte)(d >> 8), (byte)d]);
        stream.Write(array.Data);
    }

    private static void ReadExactly(Stream stream, byte[] buffer, string source, string what)
    {
        int read = 0;
        while (read < buffer.Length)
        {
            int n = stream.Read(buffer, read, buffer.Length - read);
            if (n == 0)
                throw new InvalidDataException($"{source}: truncated: expected {what}, but the file ended after {read} of {buffer.Length} bytes.");
            read += n;
        }
    }
}
