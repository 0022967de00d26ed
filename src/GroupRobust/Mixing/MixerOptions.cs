namespace GroupRobust.Mixing;

/// <summary>Options of <see cref="ClassConditionalMixer"/>.</summary>
public sealed record MixerOptions
{
    /// <summary>Where partners come from (default <see cref="PartnerPolicy.OtherGroupSameClass"/>, JM1).</summary>
    public PartnerPolicy Policy { get; init; } = PartnerPolicy.OtherGroupSameClass;

    /// <summary>
    /// Which sample alpha weights (default <see cref="AlphaOrientation.MajorityWeight"/>: with Beta(2, 5) the mix stays close to
    /// the error-set sample, the reading of the paper's text; chosen by experiment, see docs/results.md).
    /// </summary>
    public AlphaOrientation Orientation { get; init; } = AlphaOrientation.MajorityWeight;
}
