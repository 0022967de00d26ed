namespace GroupRobust.Mixing;

/// <summary>Where <see cref="ClassConditionalMixer"/> draws each sample's partner from.</summary>
public enum PartnerPolicy
{
    /// <summary>JM1: uniformly from the other partition, same label.</summary>
    OtherPartitionSameClass,

    /// <summary>c-MixUp: uniformly from all samples of the same label (partition ignored; alpha weights the batch sample).</summary>
    SameClass,

    /// <summary>Unconditional JM1 (ablation): uniformly from the other partition, any label; the batch sample's label is kept.</summary>
    OtherPartition,
}
