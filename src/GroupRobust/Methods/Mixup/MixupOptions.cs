using GroupRobust.Mixing;
using GroupRobust.Sampling;

namespace GroupRobust.Methods;

/// <summary>Options of <see cref="MixupMethod"/> (Zhang et al., 2018).</summary>
public sealed record MixupOptions
{
    /// <summary>The Beta(a, a) parameter a of lambda (default 1: lambda uniform); a &lt;= 0 disables mixing (lambda = 1).</summary>
    public double Alpha { get; init; } = 1.0;

    /// <summary>The epoch order (default <see cref="EpochOrder.Shuffled"/>).</summary>
    public EpochOrder Order { get; init; } = EpochOrder.Shuffled;

    /// <summary>
    /// Where the batch is mixed with its permutation (default <see cref="MixingLayer.Input"/>, Zhang et al.'s MixUp): a
    /// hidden layer or <see cref="MixingLayer.Output"/> is Manifold Mixup (Verma et al., 2019), the form text models train
    /// with (token ids cannot be interpolated; a representation can).
    /// </summary>
    public MixingLayer Layer { get; init; } = MixingLayer.Input;

    /// <summary>The final classifier module for <see cref="MixingLayer.Output"/>; null finds it (default).</summary>
    public string? ClassifierName { get; init; }

    /// <summary>
    /// The alphas searched on validation when MixUp is run by its published protocol (<c>TwoPhaseRecipe.Run</c> with no
    /// options; <c>recipe.TrainGrid(MethodCatalog.Mixup, MixupOptions.SearchGrid)</c>): {0.1, 0.2, 1, 10}, the ends of
    /// SubpopBench's search range 10^U(-1, 1), its default 0.2 and Zhang et al.'s CIFAR value 1, and a = 0, no mixing
    /// (lambda = 1, as Zhang et al.'s code sets it for alpha = 0; the limit of Beta(a, a) as a goes to 0), which trains as
    /// ERM does: the search trains it as the recipe's ERM run, keeps the best mixing setting only when it beats that run on
    /// validation by more than one standard error (<c>RecipeOptions.OneStandardErrorRule</c>), and otherwise returns ERM
    /// and warns that mixing did not help.
    /// </summary>
    public static IReadOnlyList<MixupOptions> SearchGrid { get; } = [new MixupOptions { Alpha = 0.1 }, new MixupOptions { Alpha = 0.2 }, new MixupOptions { Alpha = 1 }, new MixupOptions { Alpha = 10 }, new MixupOptions { Alpha = 0 }];
}
