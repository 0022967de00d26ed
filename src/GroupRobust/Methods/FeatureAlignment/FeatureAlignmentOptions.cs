namespace GroupRobust.Methods;

/// <summary>Options of <see cref="FeatureAlignmentMethod"/> (SubpopBench's MMD and CORAL).</summary>
public sealed record FeatureAlignmentOptions
{
    /// <summary>The distance between environments (default <see cref="FeatureKernel.Gaussian"/>, MMD; <see cref="FeatureKernel.MeanCovariance"/> is CORAL).</summary>
    public FeatureKernel Kernel { get; init; } = FeatureKernel.Gaussian;

    /// <summary>The weight of the penalty, at least 0 (default 1, SubpopBench's <c>mmd_gamma</c>; its random search draws 10^U(-1, 1)).</summary>
    public double PenaltyWeight { get; init; } = 1;
}
