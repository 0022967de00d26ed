using GroupRobust.Internal;
using GroupRobust.Randomness;
using TorchSharp;
using static TorchSharp.torch;
using GroupRobust.Mixing;

namespace GroupRobust.Methods;

/// <summary>
/// Standard MixUp (Zhang et al., 2018), the unconditional baseline: per batch lambda ~ Beta(a, a) (lambda = 1 when
/// a &lt;= 0), partners by a random permutation of the batch, x~ = lambda x + (1 - lambda) x[perm], and the loss
/// lambda CE(f(x~), y) + (1 - lambda) CE(f(x~), y[perm]).
/// </summary>
internal sealed class StandardMixup
{
    private readonly Random _rng;

    /// <summary>Creates the baseline.</summary>
    /// <param name="alpha">Beta(a, a) parameter a (default 1: lambda uniform); a &lt;= 0 disables mixing.</param>
    /// <param name="rng">Generator for lambda and the permutation.</param>
    public StandardMixup(double alpha, Random rng)
    {
        Alpha = alpha;   // checked by MixupMethod (its options)
        _rng = rng;
    }

    /// <summary>The Beta(a, a) parameter.</summary>
    public double Alpha { get; }

    /// <summary>Draws lambda and a permutation for a batch of <paramref name="batchSize"/> rows.</summary>
    public MixupDraw Draw(int batchSize)
    {
        double lam = Alpha > 0 ? MathNet.Numerics.Distributions.Beta.Sample(_rng, Alpha, Alpha) : 1.0;
        var perm = Shuffling.Identity(batchSize);
        Shuffling.Shuffle(perm.AsSpan(), _rng);
        return new MixupDraw(perm, lam);
    }

    /// <summary>lambda x + (1 - lambda) x[perm], on x's device and dtype.</summary>
    public static Tensor Mix(Tensor x, MixupDraw draw)
    {
        using var scope = NewDisposeScope();
        var perm = HostUpload.Int64(draw.Permutation, x.device);
        return Interpolation.Lerp(x, x.index_select(0, perm), draw.Lambda).MoveToOuterDisposeScope();
    }

    /// <summary>The partner rows x[perm] (for mixing at a hidden layer with <see cref="MixedForwardPass"/>).</summary>
    public static Tensor Partners(Tensor x, MixupDraw draw)
    {
        using var scope = NewDisposeScope();
        return x.index_select(0, HostUpload.Int64(draw.Permutation, x.device)).MoveToOuterDisposeScope();
    }

    /// <summary>lambda CE(logits, y) + (1 - lambda) CE(logits, y[perm]), mean over the batch.</summary>
    public static Tensor Loss(Tensor logits, Tensor labels, MixupDraw draw)
    {
        using var scope = NewDisposeScope();
        var perm = HostUpload.Int64(draw.Permutation, labels.device);
        var a = nn.functional.cross_entropy(logits, labels);
        var b = nn.functional.cross_entropy(logits, labels.index_select(0, perm));
        return Interpolation.Lerp(a, b, draw.Lambda).MoveToOuterDisposeScope();
    }
}
