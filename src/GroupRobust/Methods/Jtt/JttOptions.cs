using GroupRobust.Sampling;

namespace GroupRobust.Methods;

/// <summary>Options of <see cref="JttMethod"/> (Liu et al., 2021).</summary>
public sealed record JttOptions
{
    /// <summary>
    /// Extra repetitions of every error-set sample per epoch, &gt;= 0, or <see cref="JttReweighter.AutomaticLambda"/> (-1,
    /// the default) for the reference's automatic floor((N - |E|) / |E|) - 1. Published settings: Waterbirds 100, CelebA 50,
    /// MultiNLI 4 to 6.
    /// </summary>
    public int Lambda { get; init; } = JttReweighter.AutomaticLambda;
}
