using System.Collections;
using GroupRobust.Randomness;

namespace GroupRobust.Sampling;

/// <summary>Base class of the library's samplers: implements the epoch bookkeeping of <see cref="IIndexSampler"/>.</summary>
public abstract class EpochSampler : IIndexSampler
{
    /// <summary>Creates a sampler.</summary>
    /// <param name="seed">Seed of the sampler; epoch <c>e</c> draws from a stream derived from (seed, e).</param>
    protected EpochSampler(long seed) => Seed = seed;

    /// <summary>The sampler's seed.</summary>
    public long Seed { get; }

    /// <inheritdoc />
    public int Epoch
    {
        get => _epoch;
        set
        {
            ArgumentOutOfRangeException.ThrowIfLessThan(value, 1, nameof(Epoch));
            _epoch = value;
        }
    }

    private int _epoch = 1;
    private readonly Internal.ExclusiveUse _use = new("epoch sampler");

    /// <inheritdoc />
    public abstract long EpochLength { get; }

    /// <inheritdoc />
    public long[] IndicesForEpoch(int epoch)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(epoch, 1);
        return Generate(epoch, RandomForEpoch(epoch));
    }

    /// <summary>Produces epoch <paramref name="epoch"/>'s indices with the epoch's own generator.</summary>
    protected abstract long[] Generate(int epoch, Random rng);

    /// <summary>
    /// The generator of epoch <paramref name="epoch"/>: the stream "epoch-{epoch - 1}" of <see cref="Seed"/> (named from 0,
    /// as in the first releases, so that every order stays what it was).
    /// </summary>
    protected ReproducibleRandom RandomForEpoch(int epoch) => new SeedSource(Seed).Random("epoch-" + (epoch - 1).ToString(System.Globalization.CultureInfo.InvariantCulture));

    /// <summary>Yields the current epoch's indices, then advances <see cref="Epoch"/>.</summary>
    /// <exception cref="InvalidOperationException">Another thread is drawing an epoch from this sampler (two would get the same epoch).</exception>
    public IEnumerator<long> GetEnumerator()
    {
        long[] indices;
        using (_use.Enter())
        {
            indices = IndicesForEpoch(_epoch);
            _epoch++;
        }
        return ((IEnumerable<long>)indices).GetEnumerator();
    }

    IEnumerator IEnumerable.GetEnumerator() => GetEnumerator();

    /// <summary>Fisher-Yates shuffle in place.</summary>
    protected static void Shuffle(long[] values, Random rng) => Shuffling.Shuffle(values.AsSpan(), rng);
}
