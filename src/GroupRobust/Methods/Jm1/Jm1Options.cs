using GroupRobust.Mixing;

namespace GroupRobust.Methods;

/// <summary>Options of <see cref="Jm1Method"/>: JM1's defaults (JM1 paper; docs/algorithms.md states each choice).</summary>
public sealed record Jm1Options
{
    /// <summary>Where partners come from (default <see cref="PartnerPolicy.OtherGroupSameClass"/>, JM1).</summary>
    public PartnerPolicy Policy { get; init; } = PartnerPolicy.OtherGroupSameClass;

    /// <summary>Which sample alpha weights (default <see cref="AlphaOrientation.MajorityWeight"/>, chosen by experiment; see <see cref="ClassConditionalMixer.Orientation"/>).</summary>
    public AlphaOrientation Orientation { get; init; } = AlphaOrientation.MajorityWeight;

    /// <summary>
    /// The distribution of alpha over the epochs, one draw per batch. Default U(0, 1) throughout, the JM1 paper's MultiNLI
    /// schedule; the paper's image schedule "U/B" (U(0, 1), then Beta(2, 5) from the second half) is
    /// <see cref="AlphaSchedule.UniformThenBeta"/>. Measured on four benchmarks (docs/results.md, "Three labels on two
    /// colours"): U(0, 1) is better or level on three, by up to 5 points for JM1 and 14 for its no-labels rows, where the
    /// Beta half's mixes are mostly images of a small error set; U/B is 2.6 points better on the Gaussian task.
    /// </summary>
    public AlphaSchedule Schedule { get; init; } = AlphaSchedule.Uniform();

    /// <summary>Where to mix (default <see cref="MixingLayer.Input"/>).</summary>
    public MixingLayer Layer { get; init; } = MixingLayer.Input;

    /// <summary>
    /// Where partners are drawn among. Null (the default) resolves by layer (<see cref="PartnersInEffect"/>):
    /// <see cref="PartnerSource.Dataset"/>, the paper's draw from the whole training set, when mixing at the input, where
    /// it costs nothing extra; <see cref="PartnerSource.Paired"/> at any other layer (a hidden layer, the output, a random
    /// layer), where the exact form's second pass costs 1.5 to 1.9x ERM and paired batches 1.06 to 1.17x, at equal or
    /// better worst-group accuracy on the image benchmarks (docs/performance.md); with <see cref="DetachPartners"/> (an
    /// option of the second pass) <see cref="PartnerSource.Dataset"/>. <see cref="PartnerSource.Batch"/> takes partners
    /// from a random batch's own rows. Set <see cref="PartnerSource.Dataset"/> for the paper's draw at any layer.
    /// </summary>
    public PartnerSource? Partners { get; init; }

    /// <summary>The partner source in use: <see cref="Partners"/>, or, when null, the default for <see cref="Layer"/>.</summary>
    public PartnerSource PartnersInEffect => Partners ?? (Layer is null || Layer.IsInput || DetachPartners ? PartnerSource.Dataset : PartnerSource.Paired);

    /// <summary>Run the partner pass of hidden-layer mixing without gradients (default false: exact); see <see cref="MixedForwardPass"/>.</summary>
    public bool DetachPartners { get; init; }

    /// <summary>The final classifier module for <see cref="MixingLayer.Output"/>; null picks the final layer: the last leaf module holding parameters, in depth-first (definition) order (it must be a <c>Linear</c> where a linear layer is needed).</summary>
    public string? ClassifierName { get; init; }

    /// <summary>
    /// JM1+ (JM1 paper, Section 5): iterate a JTT-style epoch in which every minority-side sample appears lambda + 1 times
    /// (lambda &gt;= 0, or -1 for JTT's automatic value) instead of the dataset once. Null (default) is JM1: no upsampling.
    /// </summary>
    public int? UpsampleLambda { get; init; }

    /// <summary>Throws when an option is out of range.</summary>
    public void Validate()
    {
        ArgumentNullException.ThrowIfNull(Schedule, nameof(Schedule));
        ArgumentNullException.ThrowIfNull(Layer, nameof(Layer));
        if (!Enum.IsDefined(Policy)) throw new ArgumentOutOfRangeException(nameof(Policy), Policy, "Unknown partner policy.");
        if (Partners is PartnerSource source && !Enum.IsDefined(source)) throw new ArgumentOutOfRangeException(nameof(Partners), Partners, "Unknown partner source.");
        if (!Enum.IsDefined(Orientation)) throw new ArgumentOutOfRangeException(nameof(Orientation), Orientation, "Unknown orientation.");
        if (UpsampleLambda is < -1) throw new ArgumentOutOfRangeException(nameof(UpsampleLambda), UpsampleLambda, "Must be >= 0, -1 (automatic) or null (no upsampling).");
    }
}
