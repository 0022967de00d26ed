using TorchSharp;

namespace GroupRobust.Randomness;

/// <summary>
/// One seed for a whole run: seeds TorchSharp's global CPU (and, when present, CUDA) generators and
/// hands out independent, named random streams derived from the seed, so that adding a new consumer
/// of randomness does not shift the numbers any other consumer draws.
/// </summary>
/// <example>
/// <code>
/// var seeds = new SeedSource(42);
/// seeds.SeedTorch();                       // model initialisation, dropout
/// var shuffleRng = seeds.Random("shuffle");  // batch order
/// var mixRng = seeds.Random("mixing");       // partners and alpha
/// </code>
/// </example>
public sealed class SeedSource
{
    /// <summary>Creates a seed source.</summary>
    /// <param name="seed">The run's master seed (any value).</param>
    public SeedSource(long seed) => Seed = seed;

    /// <summary>The master seed.</summary>
    public long Seed { get; }

    /// <summary>
    /// Seeds TorchSharp's default CPU generator with the master seed, and every CUDA device's generator
    /// when CUDA is available (<c>torch.cuda.manual_seed_all</c>).
    /// </summary>
    public void SeedTorch()
    {
        torch.random.manual_seed(Seed);
        if (torch.cuda.is_available()) torch.cuda.manual_seed_all(Seed);
    }

    /// <summary>The 64-bit seed of the named stream: a hash of the master seed and <paramref name="stream"/>.</summary>
    /// <param name="stream">A stable, descriptive stream name such as "shuffle" or "mixing".</param>
    public long Derive(string stream)
    {
        ArgumentException.ThrowIfNullOrEmpty(stream);
        // FNV-1a over the UTF-16 code units, then mixed with the seed through SplitMix64.
        ulong h = 14695981039346656037UL;
        foreach (char c in stream)
        {
            h ^= c;
            h *= 1099511628211UL;
        }
        ulong x = unchecked((ulong)Seed) ^ h;
        return unchecked((long)ReproducibleRandom.SplitMix64(ref x));
    }

    /// <summary>
    /// A seed source for a part of the run (one method, one phase), seeded by the named stream: its streams are
    /// independent of this source's streams and of every other child's.
    /// </summary>
    /// <param name="name">A stable, descriptive name such as "jm1" or "phase1".</param>
    /// <exception cref="ArgumentException"><paramref name="name"/> is null or empty.</exception>
    public SeedSource Child(string name)
    {
        ArgumentException.ThrowIfNullOrEmpty(name);
        return new SeedSource(Derive(name));
    }

    /// <summary>A new, independent <see cref="ReproducibleRandom"/> for the named stream. The same name gives the same stream.</summary>
    /// <param name="stream">A stable, descriptive stream name.</param>
    public ReproducibleRandom Random(string stream) => new(Derive(stream));

    /// <summary>A new TorchSharp generator for the named stream on <paramref name="device"/> (CPU by default).</summary>
    /// <param name="stream">A stable, descriptive stream name.</param>
    /// <param name="device">The generator's device; null for CPU.</param>
    public torch.Generator Generator(string stream, torch.Device? device = null)
        => new(unchecked((ulong)Derive(stream)), device ?? torch.CPU);
}
