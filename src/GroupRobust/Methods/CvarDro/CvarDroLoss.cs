using TorchSharp;
using static TorchSharp.torch;

namespace GroupRobust.Methods;

/// <summary>
/// Per-sample CVaR-DRO, a group-free baseline of the JTT and JM1 papers' tables (Levy et al., 2020, "Large-scale
/// methods for distributionally robust optimization"): the loss of a batch is the mean of its ceil(alpha B) largest
/// per-sample losses, the empirical conditional value at risk at level alpha (the variant of the JTT reference's
/// CVaR baseline, which takes the top fraction of each mini-batch).
/// </summary>
internal static class CvarDroLoss
{
    /// <summary>The mean of the ceil(<paramref name="alpha"/> B) largest losses (gradient flows to those samples only).</summary>
    /// <param name="perSampleLosses">Losses [B], floating.</param>
    /// <param name="alpha">Level in (0, 1]; 1 is the plain mean.</param>
    /// <returns>A scalar on the losses' device.</returns>
    public static Tensor Compute(Tensor perSampleLosses, double alpha)
    {
        // internal: CvarDroMethod checked the level and the method contract the batch (non-empty)
        int k = (int)Math.Ceiling(alpha * perSampleLosses.shape[0] - 1e-9);
        k = Math.Clamp(k, 1, (int)perSampleLosses.shape[0]);
        using var scope = NewDisposeScope();
        var (values, _) = perSampleLosses.topk(k, 0, largest: true, sorted: false);
        return values.mean().MoveToOuterDisposeScope();
    }
}
