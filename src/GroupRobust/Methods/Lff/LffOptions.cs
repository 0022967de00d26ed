namespace GroupRobust.Methods;

/// <summary>Options of <see cref="LffMethod"/>; the defaults are the LfF reference's (alinlab/LfF train.py, config.py).</summary>
public sealed record LffOptions
{
    /// <summary>GCE exponent q of the biased network's loss, in (0, 1]; default 0.7.</summary>
    public double Q { get; init; } = 0.7;

    /// <summary>Decay beta of the per-sample loss averages, e &lt;- beta e + (1 - beta) l, in [0, 1); default 0.7 (the reference's train.py value; its class default 0.9 is never used). The first visit of a sample stores its loss.</summary>
    public double EmaDecay { get; init; } = 0.7;

    /// <summary>Use the exact GCE (1 - p^q)/q instead of the reference's surrogate CE * q * p^q (default false; see <see cref="Identification.GeneralizedCrossEntropy"/>).</summary>
    public bool ExactGce { get; init; }

    /// <summary>
    /// Whether the debiased network's samples are weighted by their relative difficulty W (default true, LfF). False
    /// weighs every sample 1: the debiased network trains on the plain cross-entropy, as ERM does (the LfF reference's
    /// vanilla baseline), while the biased network trains beside it unread; the off setting of <see cref="SearchGrid"/>.
    /// (With a plain optimizer step; gradient-norm clipping and SAM take their norm over both networks.)
    /// </summary>
    public bool Reweight { get; init; } = true;

    /// <summary>
    /// The settings searched on validation when LfF is run by its search protocol (<c>TwoPhaseRecipe.Run</c> with no
    /// options; <c>recipe.TrainGrid(MethodCatalog.Lff, LffOptions.SearchGrid)</c>): q in {0.05, 0.7, 0.95}, the ends of
    /// SubpopBench's search range U(0.05, 0.95) for LfF's q and its default (the reference's), and
    /// <see cref="Reweight"/> = false, which trains as ERM does: the search trains it as the recipe's ERM run, keeps the
    /// best q only when it beats that run on validation by more than one standard error
    /// (<c>RecipeOptions.OneStandardErrorRule</c>), and otherwise returns ERM and warns that LfF did not help.
    /// </summary>
    public static IReadOnlyList<LffOptions> SearchGrid { get; } =
        [new LffOptions { Q = 0.05 }, new LffOptions(), new LffOptions { Q = 0.95 }, new LffOptions { Reweight = false }];

    /// <summary>Throws when an option is out of range.</summary>
    public void Validate()
    {
        if (!(Q > 0 && Q <= 1)) throw new ArgumentOutOfRangeException(nameof(Q), Q, "The GCE exponent q must be in (0, 1].");
        if (!(EmaDecay >= 0 && EmaDecay < 1)) throw new ArgumentOutOfRangeException(nameof(EmaDecay), EmaDecay, "The loss-average decay must be in [0, 1).");
    }
}
