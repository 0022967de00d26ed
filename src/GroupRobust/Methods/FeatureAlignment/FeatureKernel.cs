namespace GroupRobust.Methods;

/// <summary>How <see cref="FeatureAlignmentMethod"/> measures the distance between two environments' representations (DomainBed's and SubpopBench's MMD and CORAL).</summary>
public enum FeatureKernel
{
    /// <summary>
    /// Maximum mean discrepancy with a sum of Gaussian kernels exp(-gamma ||x - y||^2), gamma in {0.001, 0.01, 0.1, 1, 10,
    /// 100, 1000}: mean K(x, x') + mean K(y, y') - 2 mean K(x, y) (Li et al., 2018; SubpopBench's MMD).
    /// </summary>
    Gaussian,

    /// <summary>
    /// The squared differences of the means and of the covariances (unbiased, n - 1), each averaged over its entries
    /// (Sun and Saenko, 2016, Deep CORAL; SubpopBench's CORAL).
    /// </summary>
    MeanCovariance,
}
