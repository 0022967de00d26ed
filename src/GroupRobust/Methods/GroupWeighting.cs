namespace GroupRobust.Methods;

/// <summary>
/// How group reweighting turns the training groups' sizes n_g into loss weights w_g (SubpopBench's ReWeight,
/// SqrtReWeight and CBLoss; the ReweightMethod of the Reweight room, and ReWeightCRT). Whatever the rule, an empty group weighs 0 and the weights are scaled to sum to the number
/// of groups G = C x A, as in SubpopBench, so that equal group sizes give every sample weight 1.
/// </summary>
public enum GroupWeighting
{
    /// <summary>w_g proportional to 1 / n_g: every group carries the same total weight (SubpopBench's ReWeight, the "RWG" of Idrissi et al., 2022).</summary>
    InverseSize,

    /// <summary>w_g proportional to 1 / sqrt(n_g) (SubpopBench's SqrtReWeight).</summary>
    InverseSquareRootSize,

    /// <summary>
    /// w_g proportional to (1 - beta) / (1 - beta^n_g), the inverse of the group's effective number of samples (Cui et
    /// al., 2019, "Class-balanced loss based on effective number of samples"; SubpopBench's CBLoss, over groups);
    /// beta is ReweightOptions.Beta.
    /// </summary>
    EffectiveNumber,
}
