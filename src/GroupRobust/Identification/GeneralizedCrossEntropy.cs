using TorchSharp;
using static TorchSharp.torch;

namespace GroupRobust.Identification;

/// <summary>
/// Generalized cross entropy (Zhang &amp; Sabuncu, 2018), the loss LfF trains its biased network with (Nam et al., 2020):
/// GCE(p, y) = (1 - p_y^q) / q, whose gradient is p_y^q times the cross-entropy gradient, so confidently fitted
/// (easy) samples dominate and the network latches onto the shortcut. Shared by LfF and the GCE-biased identifier.
/// </summary>
/// <remarks>
/// <see cref="PerSample"/> computes, by default, the LfF reference's surrogate (alinlab/LfF, module/loss.py):
/// CE(z, y) * q * p_y^q with p_y detached. Its gradient is q times the gradient of the exact GCE (same direction, a
/// constant factor q), and its value is not the GCE value. Pass <c>exact: true</c> for the equation. The probabilities
/// are computed in float32 (float64 inputs stay float64) whatever the logits' dtype.
/// </remarks>
internal static class GeneralizedCrossEntropy
{
    /// <summary>Per-sample GCE losses [B].</summary>
    /// <param name="logits">Logits [B, C], floating.</param>
    /// <param name="labels">Int64 labels [B] in [0, C), on the logits' device.</param>
    /// <param name="q">The exponent q in (0, 1]; the LfF default is 0.7. q -> 0 approaches cross entropy, q = 1 is the MAE.</param>
    /// <param name="exact">False (default): the reference's surrogate CE * q * p_y^q (p_y detached). True: (1 - p_y^q) / q.</param>
    /// <returns>Losses [B] in float32 (float64 for float64 logits), on the logits' device.</returns>
    /// <remarks>Internal: the callers' doors checked the batch and q in (0, 1].</remarks>
    public static Tensor PerSample(Tensor logits, Tensor labels, double q = 0.7, bool exact = false)
    {
        using var scope = NewDisposeScope();
        var z = logits.dtype == ScalarType.Float64 ? logits : logits.to(ScalarType.Float32);
        var logP = nn.functional.log_softmax(z, 1).gather(1, labels.to(ScalarType.Int64).unsqueeze(1)).squeeze(1);
        var loss = exact
            ? (1 - (logP * q).exp()) / q
            : -logP * (logP.detach() * q).exp() * q;
        return loss.MoveToOuterDisposeScope();
    }
}
