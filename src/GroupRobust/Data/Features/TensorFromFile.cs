using static TorchSharp.torch;

namespace GroupRobust.Data.Features;

/// <summary>Reads one tensor's raw little-endian bytes from a file into a new CPU tensor, after checking the size.</summary>
internal static class TensorFromFile
{
    /// <param name="file">The open file.</param>
    /// <param name="offset">Where the bytes start.</param>
    /// <param name="shape">The tensor's shape.</param>
    /// <param name="dtype">Its element type.</param>
    /// <param name="elementSize">Bytes per element.</param>
    /// <param name="path">For messages.</param>
    /// <param name="what">For messages: "array" or the tensor's name.</param>
    /// <param name="length">The byte count the header gives, or null for "to the end of the file".</param>
    public static Tensor Read(Stream file, long offset, long[] shape, ScalarType dtype, int elementSize, string path, string what, long? length = null)
    {
        if (shape.Any(d => d < 0)) throw new FormatException($"{path}: {what} has a negative dimension in [{string.Join(", ", shape)}].");
        long count = 1;
        foreach (var d in shape)
            count = d == 0 ? 0 : count <= long.MaxValue / d ? count * d : throw new FormatException($"{path}: {what}'s shape [{string.Join(", ", shape)}] overflows.");
        long bytes = count <= long.MaxValue / elementSize ? count * elementSize : throw new FormatException($"{path}: {what}'s shape [{string.Join(", ", shape)}] overflows.");
        long available = length ?? file.Length - offset;
        if (bytes != available)
            throw new FormatException($"{path}: {what} of shape [{string.Join(", ", shape)}] needs {bytes} bytes but the file {(length is null ? "holds" : "gives it")} {available}.");
        if (offset + bytes > file.Length)
            throw new FormatException($"{path}: {what} ends at byte {offset + bytes} but the file has {file.Length} (truncated).");
        if (bytes > Array.MaxLength)
            throw new FormatException($"{path}: {what} has {bytes} bytes, more than one read supports ({Array.MaxLength}); split the file.");
        var buffer = new byte[bytes];
        file.Position = offset;
        file.ReadExactly(buffer);
        var t = empty(shape, dtype);
        if (bytes > 0) t.bytes = buffer;
        return t;
    }
}
