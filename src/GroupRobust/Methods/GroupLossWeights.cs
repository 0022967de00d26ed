using GroupRobust.Identification;
using GroupRobust.Internal;
using static TorchSharp.torch;

namespace GroupRobust.Methods;

/// <summary>
/// Fixed per-group loss weights from the training groups' sizes (<see cref="GroupWeighting"/>), SubpopBench's rule:
/// an empty group weighs 0 and the weights are scaled to sum to the number of groups (shared by the reweighting methods
/// and classifier re-training).
/// </summary>
internal static class GroupLossWeights
{
    /// <summary>The weight of each group.</summary>
    /// <param name="counts">The size n_g of every group g in [0, G), at least one of them above 0.</param>
    /// <param name="weighting">The rule.</param>
    /// <param name="beta">beta of <see cref="GroupWeighting.EffectiveNumber"/>, in (0, 1); ignored by the other rules.</param>
    public static double[] Of(long[] counts, GroupWeighting weighting, double beta)
    {
        var raw = counts.Select(n => n == 0 ? 0.0 : weighting switch
        {
            GroupWeighting.InverseSize => 1.0 / n,
            GroupWeighting.InverseSquareRootSize => 1.0 / Math.Sqrt(n),
            _ => (1 - beta) / (1 - Math.Pow(beta, n)),
        }).ToArray();
        double sum = raw.Sum();
        return raw.Select(w => w / sum * counts.Length).ToArray();
    }

    /// <summary>The weight of each row of a batch, looked up on the host from its sample's group and uploaded once.</summary>
    /// <param name="weights">The weight of each group (<see cref="Of"/>, as float32).</param>
    /// <param name="groups">The training split's groups.</param>
    /// <param name="indices">The batch's sample indices.</param>
    /// <param name="device">The device of the batch's losses.</param>
    public static Tensor OfRows(float[] weights, GroupAssignment groups, ReadOnlySpan<long> indices, Device device)
    {
        var w = new float[indices.Length];
        for (int i = 0; i < w.Length; i++) w[i] = weights[groups.GroupOf(indices[i])];
        return HostUpload.Float32(w, device);
    }
}
