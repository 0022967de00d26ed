namespace GroupRobust.Mixing;

/// <summary>Where <see cref="ClassConditionalMixer"/> draws each sample's partner from.</summary>
public enum PartnerPolicy
{
    /// <summary>JM1: uniformly from the other groups of the same label (with an error set: the other side of the partition).</summary>
    OtherGroupSameClass,

    /// <summary>c-MixUp: uniformly from all samples of the same label (groups ignored; alpha weights the batch sample).</summary>
    SameClass,

    /// <summary>Unconditional JM1 (ablation): uniformly from the other side (minority vs majority groups), any label; the batch sample's label is kept.</summary>
    OtherSideAnyClass,
}
