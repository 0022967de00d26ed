using GroupRobust.Mixing;

namespace GroupRobust.Methods;

/// <summary>Options of <see cref="Jm1Method"/>: JM1's defaults (JM1 paper; docs/algorithms.md states each choice).</summary>
public sealed record Jm1Options
{
    /// <summary>Where partners come from (default <see cref="PartnerPolicy.OtherGroupSameClass"/>, JM1).</summary>
    public PartnerPolicy Policy { get; init; } = PartnerPolicy.OtherGroupSameClass;

    /// <summary>Which sample alpha weights (default <see cref="AlphaOrientation.MajorityWeight"/>, chosen by experiment; see <see cref="ClassConditionalMixer.Orientation"/>).</summary>
    public AlphaOrientation Orientation { get; init; } = AlphaOrientation.MajorityWeight;

    /// <summary>The distribution of alpha over the epochs, one draw per batch (default the paper's "U/B": U(0, 1), then Beta(2, 5)).</summary>
    public AlphaSchedule Schedule { get; init; } = AlphaSchedule.UniformThenBeta();

    /// <summary>Where to mix (default <see cref="MixingLayer.Input"/>).</summary>
    public MixingLayer Layer { get; init; } = MixingLayer.Input;

    /// <summary>
    /// Where partners are drawn among (default <see cref="PartnerSource.Dataset"/>, JM1 as published);
    /// <see cref="PartnerSource.Batch"/> takes them from the batch's own rows when it holds an eligible one, which makes
    /// hidden-layer mixing cost about as much as input mixing; <see cref="PartnerSource.Paired"/> also builds the epoch
    /// order so that each anchor's batch holds a partner drawn from its pool (docs/performance.md has the cost and the
    /// accuracy of each).
    /// </summary>
    public PartnerSource Partners { get; init; } = PartnerSource.Dataset;

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
        if (!Enum.IsDefined(Partners)) throw new ArgumentOutOfRangeException(nameof(Partners), Partners, "Unknown partner source.");
        if (!Enum.IsDefined(Orientation)) throw new ArgumentOutOfRangeException(nameof(Orientation), Orientation, "Unknown orientation.");
        if (UpsampleLambda is < -1) throw new ArgumentOutOfRangeException(nameof(UpsampleLambda), UpsampleLambda, "Must be >= 0, -1 (automatic) or null (no upsampling).");
    }
}
