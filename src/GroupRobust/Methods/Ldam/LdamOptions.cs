using GroupRobust.Sampling;

namespace GroupRobust.Methods;

/// <summary>Options of <see cref="LdamMethod"/> (Cao et al., 2019).</summary>
public sealed record LdamOptions
{
    /// <summary>
    /// The margin of the smallest class, at least 0 (default 0.5, SubpopBench's and the paper's; its random search draws
    /// 10^U(-1, -0.1)); 0 subtracts no margin, and with a scale of 1 the loss is the cross-entropy.
    /// </summary>
    public double MaxMargin { get; init; } = 0.5;

    /// <summary>The logit scale s, above 0 (default 30, SubpopBench's; its random search draws 10 or 30).</summary>
    public double Scale { get; init; } = 30;

    /// <summary>The epoch order (default <see cref="EpochOrder.Shuffled"/>).</summary>
    public EpochOrder Order { get; init; } = EpochOrder.Shuffled;

    /// <summary>
    /// The settings searched on validation when LDAM is run by its published protocol (<c>TwoPhaseRecipe.Run</c> with no
    /// options; <c>recipe.TrainGrid(MethodCatalog.Ldam, LdamOptions.SearchGrid)</c>): the largest margin in {0.1, 0.5,
    /// 0.8} (about the ends of SubpopBench's search range 10^U(-1, -0.1), 0.1 to 0.79, and its default) with the scale in {10, 30} (the
    /// values its search draws), and m = 0 with s = 1, the cross-entropy, which trains as ERM does: the search trains it
    /// as the recipe's ERM run, keeps the best margin setting only when it beats that run on validation by more than one
    /// standard error (<c>RecipeOptions.OneStandardErrorRule</c>), and otherwise returns ERM and warns that LDAM did not
    /// help.
    /// </summary>
    public static IReadOnlyList<LdamOptions> SearchGrid { get; } =
    [
        new LdamOptions { MaxMargin = 0.1, Scale = 10 }, new LdamOptions { MaxMargin = 0.1, Scale = 30 },
        new LdamOptions { MaxMargin = 0.5, Scale = 10 }, new LdamOptions { MaxMargin = 0.5, Scale = 30 },
        new LdamOptions { MaxMargin = 0.8, Scale = 10 }, new LdamOptions { MaxMargin = 0.8, Scale = 30 },
        new LdamOptions { MaxMargin = 0, Scale = 1 },
    ];
}
