using GroupRobust.Data;
using GroupRobust.Identification;
using GroupRobust.Internal;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace GroupRobust.Sampling;

/// <summary>
/// JTT's phase-II sampling (Liu et al., 2021): every epoch visits the whole training set plus the error set (the
/// minority side of a <see cref="GroupAssignment"/>: any identifier's output, or true groups) repeated lambda more times, so each error sample appears lambda + 1 times, shuffled without replacement (not a weighted
/// sampler). Each enumeration yields a new epoch's order (the generator advances per epoch; TorchSharp's seeded
/// shuffler would replay one order).
/// </summary>
/// <remarks>
/// lambda = -1 selects the reference's automatic value floor((N - |E|) / |E|) - 1, which roughly balances error and
/// non-error samples. When that value is 1 or less (the error set holds a third of the data or more) JTT would barely
/// upsample, or not at all, and silently become ERM: the constructor then throws and asks for an explicit lambda. An
/// explicit lambda = 0 is allowed and logged: it is plain ERM. Published settings: Waterbirds 100, CelebA 50, MultiNLI 4 to 6.
/// </remarks>
public sealed class JttReweighter : EpochSampler
{
    /// <summary>The automatic-lambda sentinel.</summary>
    public const int AutomaticLambda = -1;

    private readonly long[] _errorIndices;

    /// <summary>Creates the sampler.</summary>
    /// <param name="errorSet">The phase-I groups; the members of its minority groups are upsampled.</param>
    /// <param name="lambda">Extra repetitions of each error sample (>= 0), or -1 for automatic.</param>
    /// <param name="seed">Seed; epoch e's order depends only on (seed, e).</param>
    /// <param name="logger">Receives the configuration and warnings; <see cref="NullLogger"/> by default.</param>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="lambda"/> is below -1, or so large that an epoch (N + lambda |E| samples) cannot be held in one array.</exception>
    /// <exception cref="InvalidOperationException">Automatic lambda with an empty error set, one that holds half or more of some class (not a minority of it), or an automatic lambda of 1 or less.</exception>
    public JttReweighter(GroupAssignment errorSet, int lambda, long seed, ILogger? logger = null) : base(seed)
    {
        ArgumentNullException.ThrowIfNull(errorSet);
        if (lambda < AutomaticLambda)
            throw new ArgumentOutOfRangeException(nameof(lambda), lambda, "lambda must be >= 0, or -1 for the automatic value.");
        var log = logger ?? NullLogger.Instance;
        Groups = errorSet;
        _errorIndices = errorSet.MinorityIndices();
        int n = errorSet.Count, e = _errorIndices.Length;
        RequestedLambda = lambda;
        if (lambda == AutomaticLambda)
        {
            if (e == 0)
                throw new InvalidOperationException("Automatic lambda is undefined for an empty error set (it divides by |E|); pass an explicit lambda or check phase I.");
            int auto = (n - e) / e - 1;
            if (auto <= 1)
                throw new InvalidOperationException($"Automatic lambda is floor(({n} - {e}) / {e}) - 1 = {auto}: the error set holds {e} of {n} samples, " +
                    $"so JTT would {(auto <= 0 ? "not upsample at all and train plain ERM" : "repeat each error sample only once more")}. " +
                    "Check phase I (an error set this large is rarely a minority proxy) or pass an explicit lambda.");
            // the automatic lambda assumes the error set is a minority proxy: in a class where it holds half or more of the
            // samples, upsampling it by about N / |E| makes it that class's majority (the collapse on data where phase I
            // errs on the majority); refused, saying which class
            foreach (int c in errorSet.ClassesWithoutAMinority().Take(1))
                throw new InvalidOperationException($"Automatic lambda assumes the error set is a minority of each class, but it holds {errorSet.MinorityShareOfClass(c)}: " +
                    "upsampling it would make it that class's majority. Check phase I (another T, or an identifier that finds the minority) or pass an explicit lambda.");
            Lambda = auto;
        }
        else
        {
            Lambda = lambda;
            if (lambda == 0) Log.JttLambdaAdjusted(log, lambda, 0, "lambda = 0 does not upsample: this is plain ERM.");
        }
        EnsureMaterializable(n, e, Lambda, nameof(lambda));
        if (e == 0 && Lambda > 0) Log.EmptyErrorSet(log, errorSet.Metadata.Method);
        Log.JttConfigured(log, e, Lambda, EpochLength, n);
    }

    /// <summary>
    /// The bound every epoch order must meet: N + lambda |E| indices fit one array (<see cref="Array.MaxLength"/>), so a
    /// huge lambda is refused when the sampler is made, not when its first epoch is enumerated.
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException">The epoch would not fit.</exception>
    internal static void EnsureMaterializable(int datasetSize, int errorCount, int lambda, string paramName)
    {
        if (lambda <= 0 || errorCount == 0) return;
        long most = (Array.MaxLength - (long)datasetSize) / errorCount;
        if (lambda > most)
            throw new ArgumentOutOfRangeException(paramName, lambda,
                $"lambda = {lambda} repeats {errorCount} error samples into an epoch of {datasetSize} + {lambda} x {errorCount} = {datasetSize + (double)lambda * errorCount:0} samples, " +
                $"more than an epoch order can hold ({Array.MaxLength}); lambda can be at most {most} here (the papers use 4 to 100).");
    }

    /// <summary>The groups whose minority side (the error set) is upsampled.</summary>
    public GroupAssignment Groups { get; }

    /// <summary>The lambda asked for (-1 = automatic).</summary>
    public int RequestedLambda { get; }

    /// <summary>The lambda in use: extra repetitions of each error sample.</summary>
    public int Lambda { get; }

    /// <summary>The automatic lambda of the reference, floor((N - |E|) / |E|) - 1 (may be negative).</summary>
    /// <exception cref="ArgumentException"><paramref name="errorCount"/> is not in [1, N].</exception>
    public static int AutomaticLambdaFor(int datasetSize, int errorCount)
    {
        if (errorCount < 1 || errorCount > datasetSize)
            throw new ArgumentException($"errorCount must be in [1, {datasetSize}], got {errorCount}.", nameof(errorCount));
        return (datasetSize - errorCount) / errorCount - 1;
    }

    /// <summary>N + lambda * |E|.</summary>
    public override long EpochLength => Groups.Count + (long)Lambda * _errorIndices.Length;

    /// <summary>How many times sample <paramref name="index"/> appears in every epoch (1 or lambda + 1).</summary>
    public int Multiplicity(long index) => Groups.IsMinority(index) ? Lambda + 1 : 1;

    /// <inheritdoc />
    protected override long[] Generate(int epoch, Random rng)
    {
        var order = new long[EpochLength];
        int n = Groups.Count;
        Randomness.Shuffling.Identity(n).CopyTo(order, 0);
        long k = n;
        for (int r = 0; r < Lambda; r++)
        {
            Array.Copy(_errorIndices, 0, order, k, _errorIndices.Length);
            k += _errorIndices.Length;
        }
        Shuffle(order, rng);
        return order;
    }
}
