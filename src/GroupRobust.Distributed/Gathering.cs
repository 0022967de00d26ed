namespace GroupRobust.Distributed;

/// <summary>All-gather on top of the all-reduce: every rank writes its values in its own slot of a zeroed buffer, and the sum is every rank's values.</summary>
internal static class Gathering
{
    /// <summary>Every rank's <paramref name="mine"/> (the same length on every rank), indexed by rank.</summary>
    public static long[][] AllGather(this ICollective collective, ReadOnlySpan<long> mine)
    {
        var buffer = new long[collective.Size * mine.Length];
        mine.CopyTo(buffer.AsSpan(collective.Rank * mine.Length));
        collective.AllReduceSum(buffer);
        int n = mine.Length;
        return Enumerable.Range(0, collective.Size).Select(r => buffer.AsSpan(r * n, n).ToArray()).ToArray();
    }

    /// <summary>Every rank's <paramref name="mine"/>, indexed by rank (two all-reduces: the lengths, then the UTF-8 bytes padded to the longest).</summary>
    public static string[] AllGatherText(this ICollective collective, string mine)
    {
        var bytes = System.Text.Encoding.UTF8.GetBytes(mine);
        var lengths = collective.AllGather([bytes.Length]);
        long longest = lengths.Max(l => l[0]);
        var words = new long[(longest + 7) / 8];
        Buffer.BlockCopy(bytes, 0, words, 0, bytes.Length);
        var all = collective.AllGather(words);
        return all.Select((w, r) =>
        {
            var b = new byte[w.Length * 8];
            Buffer.BlockCopy(w, 0, b, 0, b.Length);
            return System.Text.Encoding.UTF8.GetString(b, 0, (int)Math.Clamp(lengths[r][0], 0, b.Length));
        }).ToArray();
    }

    /// <summary>64-bit FNV-1a of <paramref name="bytes"/>: a stable fingerprint (the same in every process and run).</summary>
    public static long Fingerprint(ReadOnlySpan<byte> bytes)
    {
        ulong h = 14695981039346656037UL;
        foreach (byte b in bytes)
        {
            h ^= b;
            h *= 1099511628211UL;
        }
        return unchecked((long)h);
    }
}
