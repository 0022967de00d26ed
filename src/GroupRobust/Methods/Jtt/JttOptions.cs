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

    /// <summary>
    /// The upsampling grid of JTT's protocol for image benchmarks, lambda in {20, 50, 100} (Liu et al., 2021: Waterbirds
    /// chose 100, CelebA 50), to search jointly with T on validation worst-group accuracy:
    /// <c>recipe.TrainGrid(MethodCatalog.Jtt, groups, JttOptions.PaperGrid)</c>.
    /// </summary>
    public static IReadOnlyList<JttOptions> PaperGrid { get; } = [new JttOptions { Lambda = 20 }, new JttOptions { Lambda = 50 }, new JttOptions { Lambda = 100 }];
}
