namespace GroupRobust.Sampling;

/// <summary>A plain random permutation of [0, N) per epoch, different every epoch (ERM's sampler).</summary>
public sealed class ShuffleSampler : EpochSampler
{
    private readonly int _count;

    /// <summary>Creates the sampler.</summary>
    /// <param name="count">Dataset size N, at least 1.</param>
    /// <param name="seed">Seed; epoch e's permutation depends only on (seed, e).</param>
    public ShuffleSampler(int count, long seed) : base(seed)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(count, 1);
        _count = count;
    }

    /// <inheritdoc />
    public override long EpochLength => _count;

    /// <inheritdoc />
    protected override long[] Generate(int epoch, Random rng)
    {
        var order = Randomness.Shuffling.Identity(_count);
        Shuffle(order, rng);
        return order;
    }
}
