namespace GroupRobust.Randomness;

/// <summary>
/// A <see cref="Random"/> whose whole state can be read and restored, so that a resumed run draws
/// exactly the numbers the uninterrupted run would have drawn. The generator is xoshiro256**
/// (Blackman and Vigna, 2018), seeded through SplitMix64, the same algorithm .NET uses internally for
/// unseeded <see cref="Random"/>; unlike <see cref="Random"/>, its state is exposed.
/// </summary>
/// <remarks>
/// Every method is deterministic for a seed on every platform and runtime. Not thread-safe: give each
/// thread its own instance (see <see cref="SeedSource"/>).
/// </remarks>
public sealed class ReproducibleRandom : Random
{
    private ulong _s0, _s1, _s2, _s3;

    /// <summary>Creates a generator from a 64-bit seed (any value, including 0).</summary>
    /// <param name="seed">The seed.</param>
    public ReproducibleRandom(long seed)
    {
        ulong x = unchecked((ulong)seed);
        _s0 = SplitMix64(ref x);
        _s1 = SplitMix64(ref x);
        _s2 = SplitMix64(ref x);
        _s3 = SplitMix64(ref x);
    }

    private ReproducibleRandom(ulong[] state)
    {
        (_s0, _s1, _s2, _s3) = (state[0], state[1], state[2], state[3]);
    }

    /// <summary>The generator's four state words. Restoring them with <see cref="FromState"/> continues the stream exactly.</summary>
    public ulong[] GetState() => [_s0, _s1, _s2, _s3];

    /// <summary>Overwrites this generator's state with one previously returned by <see cref="GetState"/>.</summary>
    /// <param name="state">Four words, not all zero.</param>
    /// <exception cref="ArgumentException"><paramref name="state"/> does not have four words or is all zero.</exception>
    public void SetState(ulong[] state)
    {
        Validate(state);
        (_s0, _s1, _s2, _s3) = (state[0], state[1], state[2], state[3]);
    }

    /// <summary>Creates a generator continuing from a state returned by <see cref="GetState"/>.</summary>
    /// <param name="state">Four words, not all zero.</param>
    public static ReproducibleRandom FromState(ulong[] state)
    {
        Validate(state);
        return new ReproducibleRandom(state);
    }

    /// <summary>The next raw 64-bit output.</summary>
    public ulong NextUInt64()
    {
        ulong result = RotateLeft(_s1 * 5, 7) * 9;
        ulong t = _s1 << 17;
        _s2 ^= _s0;
        _s3 ^= _s1;
        _s1 ^= _s2;
        _s0 ^= _s3;
        _s2 ^= t;
        _s3 = RotateLeft(_s3, 45);
        return result;
    }

    /// <inheritdoc />
    public override int Next() => (int)NextBounded(int.MaxValue);

    /// <inheritdoc />
    public override int Next(int maxValue)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(maxValue);
        return maxValue <= 1 ? 0 : (int)NextBounded((ulong)maxValue);
    }

    /// <inheritdoc />
    public override int Next(int minValue, int maxValue)
    {
        if (minValue > maxValue)
            throw new ArgumentOutOfRangeException(nameof(minValue), minValue, $"minValue must be <= maxValue ({maxValue}).");
        ulong range = (ulong)((long)maxValue - minValue);
        return range <= 1 ? minValue : (int)((long)minValue + (long)NextBounded(range));
    }

    /// <inheritdoc />
    public override long NextInt64() => (long)NextBounded(long.MaxValue);

    /// <inheritdoc />
    public override long NextInt64(long maxValue)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(maxValue);
        return maxValue <= 1 ? 0 : (long)NextBounded((ulong)maxValue);
    }

    /// <inheritdoc />
    public override long NextInt64(long minValue, long maxValue)
    {
        if (minValue > maxValue)
            throw new ArgumentOutOfRangeException(nameof(minValue), minValue, $"minValue must be <= maxValue ({maxValue}).");
        ulong range = (ulong)(maxValue - minValue);
        return range <= 1 ? minValue : minValue + (long)NextBounded(range);
    }

    /// <inheritdoc />
    public override double NextDouble() => (NextUInt64() >> 11) * (1.0 / (1UL << 53));

    /// <inheritdoc />
    public override float NextSingle() => (NextUInt64() >> 40) * (1.0f / (1U << 24));

    /// <inheritdoc />
    protected override double Sample() => NextDouble();

    /// <inheritdoc />
    public override void NextBytes(byte[] buffer) => NextBytes(buffer.AsSpan());

    /// <inheritdoc />
    public override void NextBytes(Span<byte> buffer)
    {
        while (buffer.Length >= 8)
        {
            BitConverter.TryWriteBytes(buffer, NextUInt64());
            buffer = buffer[8..];
        }
        if (buffer.Length > 0)
        {
            Span<byte> last = stackalloc byte[8];
            BitConverter.TryWriteBytes(last, NextUInt64());
            last[..buffer.Length].CopyTo(buffer);
        }
    }

    /// <summary>Unbiased integer in [0, bound) by Lemire's multiply-shift rejection method.</summary>
    private ulong NextBounded(ulong bound)
    {
        ulong x = NextUInt64();
        UInt128 m = (UInt128)x * bound;
        ulong low = (ulong)m;
        if (low < bound)
        {
            ulong threshold = (0UL - bound) % bound;
            while (low < threshold)
            {
                x = NextUInt64();
                m = (UInt128)x * bound;
                low = (ulong)m;
            }
        }
        return (ulong)(m >> 64);
    }

    internal static ulong SplitMix64(ref ulong x)
    {
        ulong z = x += 0x9E3779B97F4A7C15UL;
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
        return z ^ (z >> 31);
    }

    private static ulong RotateLeft(ulong x, int k) => (x << k) | (x >> (64 - k));

    private static void Validate(ulong[] state)
    {
        ArgumentNullException.ThrowIfNull(state);
        if (state.Length != 4)
            throw new ArgumentException($"Expected 4 state words, got {state.Length}.", nameof(state));
        if (state.All(w => w == 0))
            throw new ArgumentException("The all-zero state is invalid for xoshiro256**.", nameof(state));
    }
}
