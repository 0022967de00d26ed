namespace GroupRobust.Methods;

/// <summary>Options of <see cref="SpareMethod"/>, SPARE's importance sampling (Yang et al., 2023; SpuCo's <c>SpareTrain</c>).</summary>
public sealed record SpareSamplingOptions
{
    /// <summary>
    /// The silhouette below which a class's clusters are sampled with <see cref="HighSamplingPower"/>, in [-1, 1]
    /// (default 0.9, SpuCo's <c>silhoutte_threshold</c>): loosely separated clusters are a weak signal of the spurious
    /// feature, so the minority clusters are upweighted more.
    /// </summary>
    public double SilhouetteThreshold { get; init; } = 0.9;

    /// <summary>
    /// The sampling power p of a class whose silhouette is below <see cref="SilhouetteThreshold"/>, in [0, 8] (default 2,
    /// SpuCo's <c>high_sampling_power</c>); every other class has power 1. A sample of cluster g is drawn with weight
    /// 1 / |g|^p: p = 1 balances the clusters of a class, p = 2 favours the small ones further, p = 0 is class-balanced
    /// sampling.
    /// </summary>
    public double HighSamplingPower { get; init; } = 2;

    /// <summary>
    /// The sampling power of every class when the groups carry no silhouettes (they were not made by the SPARE
    /// identifier), in [0, 8] (default 1: the clusters of each class balanced).
    /// </summary>
    public double PowerWithoutSilhouettes { get; init; } = 1;

    /// <summary>
    /// The options searched on validation when SPARE's sampling is run by its authors' protocol (<c>TwoPhaseRecipe.Run</c>
    /// with no options; <c>recipe.TrainGrid(MethodCatalog.SpareSampling, groups, SpareSamplingOptions.SearchGrid)</c>):
    /// the sampling power p in {1, 2, 3}, the powers SPARE's authors run per dataset (SpuCo's scripts,
    /// <c>src/*_spare.sh</c>: <c>--high_sampling_power</c> 1, 2 and 3), as <see cref="HighSamplingPower"/> on SPARE's
    /// clusters and as <see cref="PowerWithoutSilhouettes"/> on groups without silhouettes (so the search varies the
    /// power in use on any groups); the threshold at its default. With T searched as well when the groups come from
    /// phase I, one run per (T, power).
    /// </summary>
    public static IReadOnlyList<SpareSamplingOptions> SearchGrid { get; } =
        [.. new[] { 1.0, 2.0, 3.0 }.Select(p => new SpareSamplingOptions { HighSamplingPower = p, PowerWithoutSilhouettes = p })];

    /// <summary>Throws when an option is out of range.</summary>
    internal void Validate(string paramName)
    {
        if (!(SilhouetteThreshold >= -1 && SilhouetteThreshold <= 1))
            throw new ArgumentOutOfRangeException(paramName, SilhouetteThreshold, "SpareSamplingOptions.SilhouetteThreshold must be in [-1, 1] (a silhouette's range).");
        if (!(HighSamplingPower >= 0 && HighSamplingPower <= 8))
            throw new ArgumentOutOfRangeException(paramName, HighSamplingPower, "SpareSamplingOptions.HighSamplingPower must be in [0, 8].");
        if (!(PowerWithoutSilhouettes >= 0 && PowerWithoutSilhouettes <= 8))
            throw new ArgumentOutOfRangeException(paramName, PowerWithoutSilhouettes, "SpareSamplingOptions.PowerWithoutSilhouettes must be in [0, 8].");
    }
}
