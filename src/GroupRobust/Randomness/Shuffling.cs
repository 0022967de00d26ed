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

    /// <summary>
    /// Epoch <paramref name="epoch"/>'s random permutation of [0, n) for <paramref name="seed"/>: the identity order shuffled
    /// with the stream "epoch-{epoch}" of <c>new SeedSource(seed)</c>: what a shuffle sampler with that seed yields for its
    /// epoch <paramref name="epoch"/> + 1 (samplers number epochs from 1 and keep the streams of the earlier 0-based numbering).
    /// </summary>
    public static long[] EpochPermutation(int n, long seed, int epoch)
    {
        var order = Identity(n);
        Shuffle(order.AsSpan(), new SeedSource(seed).Random("epoch-" + epoch.ToString(System.Globalization.CultureInfo.InvariantCulture)));
        return order;
    }

    /// <summary>0, 1, ..., n - 1 as longs (the identity order).</summary>
    public static long[] Identity(int n)
    {
        var order = new long[n];
        for (int i = 0; i < order.Length; i++) order[i] = i;
        return order;
    }
}
