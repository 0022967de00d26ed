using System.Globalization;
using System.Text;
using System.Text.RegularExpressions;
using TorchSharp;
using static TorchSharp.torch;

namespace GroupRobust.Data.Features;

/// <summary>
/// Reads NumPy's <c>.npy</c> format (versions 1 to 3; NumPy's "format" module documents it): a C-ordered array of
/// float16/32/64, int8/16/32/64, uint8 or bool, little-endian, into a CPU tensor. Sizes in the header are checked against
/// the file's length before anything is allocated; every error names the file.
/// </summary>
public static partial class NpyFile
{
    [GeneratedRegex(@"'descr'\s*:\s*'(?<descr>[^']+)'")]
    private static partial Regex Descr();

    [GeneratedRegex(@"'fortran_order'\s*:\s*(?<fortran>True|False)")]
    private static partial Regex Fortran();

    [GeneratedRegex(@"'shape'\s*:\s*\((?<shape>[^)]*)\)")]
    private static partial Regex Shape();

    /// <summary>Reads the array at <paramref name="path"/>.</summary>
    /// <exception cref="FileNotFoundException">The file does not exist.</exception>
    /// <exception cref="FormatException">Not an .npy file, an unsupported dtype or order, or a size that does not match the file (the message names the file).</exception>
    public static Tensor Read(string path)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        if (!File.Exists(path)) throw new FileNotFoundException($"{path}: no such .npy file.", path);
        using var file = File.OpenRead(path);
        using var reader = new BinaryReader(file);
        byte[] magic = reader.ReadBytes(6);
        if (magic.Length < 6 || magic[0] != 0x93 || Encoding.ASCII.GetString(magic, 1, 5) != "NUMPY")
            throw new FormatException($"{path}: not an .npy file (its first bytes are not \\x93NUMPY).");
        int major = file.ReadByte();
        file.ReadByte();
        // the preamble: magic, version (2 bytes), then the header's length (2 bytes in version 1, 4 in versions 2 and 3)
        int preamble = major == 1 ? 10 : 12;
        if (file.Length < preamble)
            throw new FormatException($"{path}: {file.Length} bytes end inside the {preamble}-byte preamble of an .npy file (truncated).");
        long headerLength = major switch
        {
            1 => reader.ReadUInt16(),
            2 or 3 => reader.ReadUInt32(),
            _ => throw new FormatException($"{path}: .npy format version {major} is not supported (1, 2 or 3)."),
        };
        if (headerLength > file.Length - file.Position || headerLength > 64 * 1024 * 1024)
            throw new FormatException($"{path}: the header claims {headerLength} bytes but the file has {file.Length - file.Position} after it (truncated).");
        string header = (major == 3 ? Encoding.UTF8 : Encoding.Latin1).GetString(reader.ReadBytes((int)headerLength));
        var descr = Descr().Match(header);
        var fortran = Fortran().Match(header);
        var shapeText = Shape().Match(header);
        if (!descr.Success || !fortran.Success || !shapeText.Success)
            throw new FormatException($"{path}: the header '{header.Trim()}' lacks descr, fortran_order or shape.");
        if (fortran.Groups["fortran"].Value == "True")
            throw new FormatException($"{path}: the array is in Fortran order; save it C-ordered (numpy.ascontiguousarray) first.");
        var (dtype, size) = DtypeOf(descr.Groups["descr"].Value, path);
        var shape = shapeText.Groups["shape"].Value.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
            .Select(d => long.TryParse(d, NumberStyles.None, CultureInfo.InvariantCulture, out long v) ? v : throw new FormatException($"{path}: shape entry '{d}' is not a size."))
            .ToArray();
        return TensorFromFile.Read(file, file.Position, shape, dtype, size, path, "array");
    }

    private static (ScalarType Type, int Size) DtypeOf(string descr, string path) => descr switch
    {
        "<f2" => (ScalarType.Float16, 2),
        "<f4" => (ScalarType.Float32, 4),
        "<f8" => (ScalarType.Float64, 8),
        "|i1" => (ScalarType.Int8, 1),
        "<i2" => (ScalarType.Int16, 2),
        "<i4" => (ScalarType.Int32, 4),
        "<i8" => (ScalarType.Int64, 8),
        "|u1" => (ScalarType.Byte, 1),
        "|b1" => (ScalarType.Bool, 1),
        _ => throw new FormatException($"{path}: dtype '{descr}' is not supported (little-endian float16/32/64, int8/16/32/64, uint8 or bool)."),
    };
}
