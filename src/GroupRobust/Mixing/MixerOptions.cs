namespace GroupRobust.Mixing;

/// <summary>Options of <see cref="ClassConditionalMixer"/>.</summary>
public sealed record MixerOptions
{
    /// <summary>Where partners come from (default <see cref="PartnerPolicy.OtherPartitionSameClass"/>, JM1).</summary>
    public PartnerPolicy Policy { get; init; } = PartnerPolicy.OtherPartitionSameClass;

    /// <summary>Which sample alpha weights (default <see cref="AlphaOrientation.MinorityWeight"/>, Eq. 1 as printed).</summary>
    public AlphaOrientation Orientation { get; init; } = AlphaOrientation.MinorityWeight;
}
