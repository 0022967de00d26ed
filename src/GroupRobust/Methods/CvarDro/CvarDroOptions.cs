using GroupRobust.Sampling;

namespace GroupRobust.Methods;

/// <summary>Options of <see cref="CvarDroMethod"/> (Levy et al., 2020).</summary>
public sealed record CvarDroOptions
{
    /// <summary>The CVaR level in (0, 1]: the share of largest per-sample losses averaged (default 0.2, the middle of the JTT paper's grid {0.1, 0.2, 0.5}); 1 is ERM.</summary>
    public double Alpha { get; init; } = 0.2;

    /// <summary>The epoch order (default <see cref="EpochOrder.Shuffled"/>).</summary>
    public EpochOrder Order { get; init; } = EpochOrder.Shuffled;

    /// <summary>
    /// The JTT paper's grid for its CVaR-DRO baseline, alpha in {0.1, 0.2, 0.5} (Liu et al., 2021, Appendix).
    /// </summary>
    public static IReadOnlyList<CvarDroOptions> PaperGrid { get; } = [new CvarDroOptions { Alpha = 0.1 }, new CvarDroOptions { Alpha = 0.2 }, new CvarDroOptions { Alpha = 0.5 }];

    /// <summary>
    /// The alphas searched on validation when CVaR-DRO is run by its published protocol (<c>TwoPhaseRecipe.Run</c> with no
    /// options; <c>recipe.TrainGrid(MethodCatalog.CvarDro, CvarDroOptions.SearchGrid)</c>): <see cref="PaperGrid"/> and
    /// alpha = 1, the average loss, which trains as ERM does: the search trains it as the recipe's ERM run, keeps the best
    /// CVaR setting only when it beats that run on validation by more than one standard error
    /// (<c>RecipeOptions.OneStandardErrorRule</c>), and otherwise returns ERM and warns that CVaR-DRO did not help.
    /// </summary>
    public static IReadOnlyList<CvarDroOptions> SearchGrid { get; } = [.. PaperGrid, new CvarDroOptions { Alpha = 1 }];
}
