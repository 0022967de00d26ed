using System.Text.Json;
using static TorchSharp.torch;

namespace GroupRobust.Data.Features;

/// <summary>
/// Reads Hugging Face's safetensors format (an 8-byte little-endian header length, a JSON header naming each tensor's
/// dtype, shape and byte range, then the data) into CPU tensors. The header's length and every byte range are checked
/// against the file before anything is allocated; every error names the file and the tensor.
/// </summary>
public static class SafetensorsFile
{
    private const long MaxHeader = 100 * 1024 * 1024;   // the format's own limit

    /// <summary>The names, dtypes and shapes the file holds, without reading any data.</summary>
    /// <exception cref="FormatException">Not a safetensors file, or a header that does not fit the file or names a tensor twice.</exception>
    public static IReadOnlyDictionary<string, (string Dtype, long[] Shape)> Describe(string path)
        => ReadHeader(path, out _).ToDictionary(kv => kv.Key, kv => (kv.Value.Dtype, kv.Value.Shape));

    /// <summary>Reads the tensors named <paramref name="names"/> (all of them when null; a name given twice is read once), as CPU tensors.</summary>
    /// <exception cref="ArgumentException"><paramref name="names"/> holds a null name.</exception>
    /// <exception cref="FileNotFoundException">The file does not exist.</exception>
    /// <exception cref="FormatException">Not a safetensors file, a header that does not fit the file or names a tensor twice, an unsupported dtype, or a named tensor that is absent.</exception>
    public static Dictionary<string, Tensor> Read(string path, IEnumerable<string>? names = null)
    {
        var wanted = names?.ToArray();
        if (wanted is not null && wanted.Any(n => n is null)) throw new ArgumentException("'names' holds a null name.", nameof(names));
        var header = ReadHeader(path, out long dataStart);
        wanted = wanted?.Distinct(StringComparer.Ordinal).ToArray() ?? header.Keys.ToArray();
        foreach (var n in wanted)
            if (!header.ContainsKey(n))
                throw new FormatException($"{path}: no tensor '{n}'; the file holds {string.Join(", ", header.Keys.Order())}.");
        var result = new Dictionary<string, Tensor>(StringComparer.Ordinal);
        using var file = File.OpenRead(path);
        try
        {
            foreach (var n in wanted)
            {
                var e = header[n];
                var (dtype, size) = DtypeOf(e.Dtype, path, n);
                result[n] = TensorFromFile.Read(file, dataStart + e.Begin, e.Shape, dtype, size, path, $"tensor '{n}'", e.End - e.Begin);
            }
        }
        catch
        {
            foreach (var t in result.Values) t.Dispose();
            throw;
        }
        return result;
    }

    private sealed record Entry(string Dtype, long[] Shape, long Begin, long End);

    private static Dictionary<string, Entry> ReadHeader(string path, out long dataStart)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        if (!File.Exists(path)) throw new FileNotFoundException($"{path}: no such safetensors file.", path);
        using var file = File.OpenRead(path);
        using var reader = new BinaryReader(file);
        if (file.Length < 8) throw new FormatException($"{path}: {file.Length} bytes, too short for a safetensors file.");
        ulong n = reader.ReadUInt64();
        if (n > MaxHeader || (long)n > file.Length - 8)
            throw new FormatException($"{path}: the header claims {n} bytes but the file has {file.Length - 8} after the length (not a safetensors file, or truncated).");
        dataStart = 8 + (long)n;
        long dataLength = file.Length - dataStart;
        JsonDocument doc;
        try
        {
            doc = JsonDocument.Parse(reader.ReadBytes((int)n));
        }
        catch (JsonException ex)
        {
            throw new FormatException($"{path}: the header is not valid JSON: {ex.Message}", ex);
        }
        using (doc)
        {
            var entries = new Dictionary<string, Entry>(StringComparer.Ordinal);
            if (doc.RootElement.ValueKind != JsonValueKind.Object) throw new FormatException($"{path}: the header is not a JSON object.");
            foreach (var p in doc.RootElement.EnumerateObject())
            {
                if (p.Name == "__metadata__") continue;
                string dtype;
                long[] shape, offsets;
                try
                {
                    dtype = p.Value.GetProperty("dtype").GetString()!;
                    shape = p.Value.GetProperty("shape").EnumerateArray().Select(d => d.GetInt64()).ToArray();
                    offsets = p.Value.GetProperty("data_offsets").EnumerateArray().Select(d => d.GetInt64()).ToArray();
                }
                catch (Exception ex) when (ex is KeyNotFoundException or InvalidOperationException or FormatException)
                {
                    throw new FormatException($"{path}: tensor '{p.Name}' needs dtype, shape and data_offsets in the header ({ex.Message}).", ex);
                }
                if (offsets.Length != 2 || offsets[0] < 0 || offsets[1] < offsets[0] || offsets[1] > dataLength)
                    throw new FormatException($"{path}: tensor '{p.Name}' claims bytes [{string.Join(", ", offsets)}) of a data section of {dataLength} bytes.");
                // JSON readers differ on which of two equal keys wins (the last, in Python): such a header is ambiguous
                if (!entries.TryAdd(p.Name, new Entry(dtype, shape, offsets[0], offsets[1])))
                    throw new FormatException($"{path}: the header names tensor '{p.Name}' twice; which entry is meant is ambiguous.");
            }
            // the format's rule (as the reference implementation checks it): the tensors tile the data section, in order of
            // their offsets, with no gap, no overlap and nothing after the last one
            long at = 0;
            foreach (var (name, e) in entries.OrderBy(kv => kv.Value.Begin).ThenBy(kv => kv.Value.End))
            {
                if (e.Begin != at)
                    throw new FormatException($"{path}: tensor '{name}' starts at byte {e.Begin} of the data section but the tensors before it end at {at} " +
                        $"({(e.Begin > at ? "a gap" : "an overlap")}); the tensors must tile the data section.");
                at = e.End;
            }
            if (at != dataLength)
                throw new FormatException($"{path}: the tensors cover {at} bytes of a data section of {dataLength}; {dataLength - at} bytes follow the last tensor (corrupted or appended to).");
            return entries;
        }
    }

    private static (ScalarType Type, int Size) DtypeOf(string dtype, string path, string name) => dtype switch
    {
        "F64" => (ScalarType.Float64, 8),
        "F32" => (ScalarType.Float32, 4),
        "F16" => (ScalarType.Float16, 2),
        "BF16" => (ScalarType.BFloat16, 2),
        "I64" => (ScalarType.Int64, 8),
        "I32" => (ScalarType.Int32, 4),
        "I16" => (ScalarType.Int16, 2),
        "I8" => (ScalarType.Int8, 1),
        "U8" => (ScalarType.Byte, 1),
        "BOOL" => (ScalarType.Bool, 1),
        _ => throw new FormatException($"{path}: tensor '{name}' has dtype {dtype}, which is not supported (F64, F32, F16, BF16, I64, I32, I16, I8, U8, BOOL)."),
    };
}
