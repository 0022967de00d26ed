using GroupRobust.Internal;
using TorchSharp;
using static TorchSharp.torch;

namespace GroupRobust.Mixing;

/// <summary>Per-row mixing weights shared by the mixers: c such that h_mix = c h_batch + (1 - c) h_partner.</summary>
internal static class MixCoefficients
{
    /// <param name="plan">The plan (sides and mixed flags).</param>
    /// <param name="alphaOf">alpha of row i.</param>
    /// <param name="orientation">Which side alpha weights (ignored when <paramref name="symmetric"/>).</param>
    /// <param name="symmetric">True for policies without sides (c-MixUp): c = alpha for every mixed row.</param>
    /// <param name="like">Target device and (floating) dtype.</param>
    public static Tensor Build(MixPlan plan, Func<int, double> alphaOf, AlphaOrientation orientation, bool symmetric, Tensor like)
    {
        Guard.NotNull(like, nameof(like));
        var c = new double[plan.Count];
        for (int i = 0; i < c.Length; i++)
        {
            if (!plan.Mixed[i])
            {
                c[i] = 1;
                continue;
            }
            double a = alphaOf(i);
            if (symmetric)
            {
                c[i] = a;
                continue;
            }
            // weight of the minority (error-set) sample
            double wMin = orientation == AlphaOrientation.MinorityWeight ? a : 1 - a;
            c[i] = plan.OnMinoritySide[i] ? wMin : 1 - wMin;
        }
        // float64 inputs mix with float64 weights; every other dtype gets its weights rounded once from float64
        var dtype = Guard.IsFloating(like.dtype) ? like.dtype : ScalarType.Float32;
        using var scope = NewDisposeScope();
        return HostUpload.Float64(c, like.device, dtype).MoveToOuterDisposeScope();
    }

    public static void CheckAlpha(double alpha, string name)
    {
        if (!(alpha >= 0 && alpha <= 1))
            throw new ArgumentOutOfRangeException(name, alpha, "alpha must be in [0, 1].");
    }
}
