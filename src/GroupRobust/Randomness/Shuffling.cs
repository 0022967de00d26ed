namespace GroupRobust.Randomness;

/// <summary>The library's one Fisher-Yates shuffle (in place, uniform over permutations, driven by the caller's generator).</summary>
internal static class Shuffling
{
    public static void Shuffle<T>(Span<T> values, Random rng)
    {
        for (int i = values.Length - 1; i > 0; i--)
        {
            int j = rng.Next(i + 1);
            (values[i], values[j]) = (values[j], values[i]);
        }
    }

    public static void Shuffle<T>(List<T> values, Random rng) => Shuffle(System.Runtime.InteropServices.CollectionsMarshal.AsSpan(values), rng);

    /// <summary>0, 1, ..., n - 1 as longs (the identity order).</summary>
    public static long[] Identity(int n)
    {
        var order = new long[n];
        for (int i = 0; i < order.Length; i++) order[i] = i;
        return order;
    }
}
