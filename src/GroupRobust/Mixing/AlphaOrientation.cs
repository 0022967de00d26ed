namespace GroupRobust.Mixing;

/// <summary>
/// Which sample alpha weights in h_mix. The JM1 paper's Eq. 1 writes h_mix = alpha h_minority + (1 - alpha) h_majority,
/// yet its text says Beta(2, 5) (mean 0.29) keeps the mix "closer to the misclassified samples", which holds only if
/// alpha weights the majority sample. Both readings are offered; docs/algorithms.md records which one the experiments favour.
/// </summary>
public enum AlphaOrientation
{
    /// <summary>h_mix = alpha h_minority + (1 - alpha) h_majority (Eq. 1 as printed).</summary>
    MinorityWeight,

    /// <summary>h_mix = alpha h_majority + (1 - alpha) h_minority (the reading of the paper's text on Beta(2, 5)).</summary>
    MajorityWeight,
}
