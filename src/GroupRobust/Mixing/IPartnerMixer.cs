using GroupRobust.Data;
using static TorchSharp.torch;

namespace GroupRobust.Mixing;

/// <summary>
/// The contract of the partner mixers (<see cref="ClassConditionalMixer"/>, <c>GroupJm1Mixer</c>): per batch a
/// <see cref="MixPlan"/> (who is mixed with whom), the per-row weights for one alpha, and per-epoch statistics. The
/// weights go to <c>MixedForwardPass.Run</c> (input or hidden layer) or to a mixer's input-level <c>Mix</c>; the
/// interpolation itself lives in one internal place.
/// </summary>
internal interface IPartnerMixer
{
    /// <summary>Draws a partner for every row of <paramref name="batch"/> (rows without an eligible partner are paired with themselves, unmixed, and counted).</summary>
    MixPlan DrawPartners(Batch batch);

    /// <summary>Per-row weights c [B] on <paramref name="like"/>'s device and dtype, so that h_mix = c h_batch + (1 - c) h_partner; 1 for unmixed rows.</summary>
    /// <param name="plan">The batch's plan.</param>
    /// <param name="alpha">One alpha for the batch, in [0, 1].</param>
    /// <param name="like">A tensor on the target device with the target floating dtype.</param>
    Tensor Coefficients(MixPlan plan, double alpha, Tensor like);

    /// <summary>Closes the epoch: logs and returns its statistics and resets them.</summary>
    /// <exception cref="InvalidOperationException">No batch was drawn since the last call (a second call for the same epoch); the epoch does not advance.</exception>
    MixingStatistics EndEpoch();
}
