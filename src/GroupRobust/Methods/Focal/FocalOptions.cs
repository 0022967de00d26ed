using GroupRobust.Sampling;

namespace GroupRobust.Methods;

/// <summary>Options of <see cref="FocalMethod"/> (Lin et al., 2017).</summary>
public sealed record FocalOptions
{
    /// <summary>The focusing parameter gamma, at least 0 (default 1, SubpopBench's default; its random search draws 0.5 x 10^U(0, 1)); 0 is ERM.</summary>
    public double Gamma { get; init; } = 1;

    /// <summary>The epoch order (default <see cref="EpochOrder.Shuffled"/>).</summary>
    public EpochOrder Order { get; init; } = EpochOrder.Shuffled;

    /// <summary>
    /// The gammas searched on validation when the focal loss is run by its published protocol (<c>TwoPhaseRecipe.Run</c>
    /// with no options; <c>recipe.TrainGrid(MethodCatalog.Focal, FocalOptions.SearchGrid)</c>): {0.5, 1, 2, 5}, the ends
    /// of SubpopBench's search range 0.5 x 10^U(0, 1), its default 1 and Lin et al.'s choice 2, and gamma = 0, the
    /// cross-entropy (Lin et al.'s baseline), which trains as ERM does: the search trains it as the recipe's ERM run,
    /// keeps the best focusing setting only when it beats that run on validation by more than one standard error
    /// (<c>RecipeOptions.OneStandardErrorRule</c>), and otherwise returns ERM and warns that the focal loss did not help.
    /// </summary>
    public static IReadOnlyList<FocalOptions> SearchGrid { get; } = [new FocalOptions { Gamma = 0.5 }, new FocalOptions { Gamma = 1 }, new FocalOptions { Gamma = 2 }, new FocalOptions { Gamma = 5 }, new FocalOptions { Gamma = 0 }];
}
