using GroupRobust.Sampling;

namespace GroupRobust.Methods;

/// <summary>Options of <see cref="BalancedSoftmaxMethod"/> (Ren et al., 2020; Menon et al., 2021).</summary>
public sealed record BalancedSoftmaxOptions
{
    /// <summary>
    /// The scale tau of the log class sizes added to the logits, a finite number of at least 0 (default 1, the balanced
    /// softmax of Ren et al. and SubpopBench, Menon et al.'s logit-adjusted loss at tau = 1); 0 adds nothing: the
    /// cross-entropy, ERM.
    /// </summary>
    public double Tau { get; init; } = 1;

    /// <summary>The epoch order (default <see cref="EpochOrder.Shuffled"/>).</summary>
    public EpochOrder Order { get; init; } = EpochOrder.Shuffled;

    /// <summary>
    /// The settings searched on validation when the balanced softmax is run by its search protocol (<c>TwoPhaseRecipe.Run</c>
    /// with no options; <c>recipe.TrainGrid(MethodCatalog.BalancedSoftmax, BalancedSoftmaxOptions.SearchGrid)</c>):
    /// tau in {0.5, 1, 2}, the balanced softmax (tau = 1) and a halving and a doubling of its shift (Menon et al., 2021,
    /// "Long-tail learning via logit adjustment", whose logit-adjusted loss scales the log priors by tau), and tau = 0, the
    /// cross-entropy, which trains as ERM does: the search trains it as the recipe's ERM run, keeps the best tau only
    /// when it beats that run on validation by more than one standard error (<c>RecipeOptions.OneStandardErrorRule</c>),
    /// and otherwise returns ERM and warns that the balanced softmax did not help. SubpopBench searches no option of
    /// BSoftmax; this grid is the library's.
    /// </summary>
    public static IReadOnlyList<BalancedSoftmaxOptions> SearchGrid { get; } =
        [new BalancedSoftmaxOptions { Tau = 0.5 }, new BalancedSoftmaxOptions { Tau = 1 }, new BalancedSoftmaxOptions { Tau = 2 }, new BalancedSoftmaxOptions { Tau = 0 }];
}
