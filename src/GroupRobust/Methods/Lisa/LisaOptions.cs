using GroupRobust.Mixing;

namespace GroupRobust.Methods;

/// <summary>Options of <see cref="LisaMethod"/>; the defaults are the LISA reference's (huaxiuyao/LISA run_expt.py: mix_ratio 0.5, mix_alpha 2, mixup at the input).</summary>
public sealed record LisaOptions
{
    /// <summary>p_sel, the probability that a batch is mixed intra-label (otherwise intra-domain), in [0, 1]; default 0.5.</summary>
    public double SelectionProbability { get; init; } = 0.5;

    /// <summary>The Beta(a, a) parameter a of the per-sample mixing weight, &gt; 0; default 2.</summary>
    public double MixAlpha { get; init; } = 2;

    /// <summary>Where to mix (default the input; the reference mixes text at the featurizer output, <see cref="MixingLayer.Output"/>).</summary>
    public MixingLayer Layer { get; init; } = MixingLayer.Input;

    /// <summary>The final classifier module for <see cref="MixingLayer.Output"/>; null picks the final layer: the last leaf module holding parameters, in depth-first (definition) order (it must be a <c>Linear</c> where a linear layer is needed).</summary>
    public string? ClassifierName { get; init; }

    /// <summary>Group-balanced epochs (default true: the reference draws one batch from every group per step); false shuffles the data once per epoch.</summary>
    public bool GroupBalancedSampling { get; init; } = true;

    /// <summary>Throws when an option is out of range.</summary>
    public void Validate()
    {
        if (!(SelectionProbability >= 0 && SelectionProbability <= 1)) throw new ArgumentOutOfRangeException(nameof(SelectionProbability), SelectionProbability, "p_sel must be in [0, 1].");
        if (!(MixAlpha > 0 && double.IsFinite(MixAlpha))) throw new ArgumentOutOfRangeException(nameof(MixAlpha), MixAlpha, "The Beta parameter must be a finite number > 0.");
        ArgumentNullException.ThrowIfNull(Layer, nameof(Layer));
    }
}
