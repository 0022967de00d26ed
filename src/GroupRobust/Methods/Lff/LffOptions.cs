namespace GroupRobust.Methods;

/// <summary>Options of <see cref="LffMethod"/>; the defaults are the LfF reference's (alinlab/LfF train.py, config.py).</summary>
public sealed record LffOptions
{
    /// <summary>GCE exponent q of the biased network's loss, in (0, 1]; default 0.7.</summary>
    public double Q { get; init; } = 0.7;

    /// <summary>Decay beta of the per-sample loss averages, e &lt;- beta e + (1 - beta) l, in [0, 1); default 0.7 (the reference's train.py value; its class default 0.9 is never used). The first visit of a sample stores its loss.</summary>
    public double EmaDecay { get; init; } = 0.7;

    /// <summary>Use the exact GCE (1 - p^q)/q instead of the reference's surrogate CE * q * p^q (default false; see <see cref="Identification.GeneralizedCrossEntropy"/>).</summary>
    public bool ExactGce { get; init; }

    /// <summary>Throws when an option is out of range.</summary>
    public void Validate()
    {
        if (!(Q > 0 && Q <= 1)) throw new ArgumentOutOfRangeException(nameof(Q), Q, "The GCE exponent q must be in (0, 1].");
        if (!(EmaDecay >= 0 && EmaDecay < 1)) throw new ArgumentOutOfRangeException(nameof(EmaDecay), EmaDecay, "The loss-average decay must be in [0, 1).");
    }
}
