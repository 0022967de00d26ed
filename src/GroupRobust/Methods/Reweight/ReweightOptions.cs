namespace GroupRobust.Methods;

/// <summary>Options of <see cref="ReweightMethod"/> (SubpopBench's ReWeight, SqrtReWeight and CBLoss).</summary>
public sealed record ReweightOptions
{
    /// <summary>The rule from group sizes to weights (default <see cref="GroupWeighting.InverseSize"/>, SubpopBench's ReWeight).</summary>
    public GroupWeighting Weighting { get; init; } = GroupWeighting.InverseSize;

    /// <summary>
    /// beta of <see cref="GroupWeighting.EffectiveNumber"/>, in (0, 1) (default 0.9999, SubpopBench's CBLoss default; its
    /// random search draws 1 - 10^U(-5, -2)). Ignored by the other rules. As beta goes to 0 the weights go to 1 (ERM); as
    /// it goes to 1 they go to 1 / n_g (ReWeight).
    /// </summary>
    public double Beta { get; init; } = 0.9999;
}
