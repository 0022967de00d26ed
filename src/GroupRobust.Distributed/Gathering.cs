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
