using GroupRobust.Data;
using GroupRobust.Evaluation;
using GroupRobust.Training;

namespace GroupRobust.Recipes;

/// <summary>Options of <see cref="TwoPhaseRecipe"/> and <see cref="LastLayerRecipe"/>: small and immutable, defaults for the common case.</summary>
public sealed record RecipeOptions
{
    /// <summary>Epochs of every training run (phase II, ERM), at least 1 (default 10).</summary>
    public int Epochs { get; init; } = 10;

    /// <summary>
    /// Phase I's length: the candidates for the identification epoch T are 1..Phase1Epochs, at least 1 (default 2, the
    /// JM1 paper's MultiNLI setting; CelebA used 1). It may exceed <see cref="Epochs"/>; phase I then cannot double as
    /// the ERM baseline (<c>TrainPhaseOne(Epochs)</c> refuses).
    /// </summary>
    public int Phase1Epochs { get; init; } = 2;

    /// <summary>Training batch size, at least 1 (default 64).</summary>
    public int BatchSize { get; init; } = 64;

    /// <summary>Batch size of evaluation and identification passes, at least 1 (default 256).</summary>
    public int EvaluationBatchSize { get; init; } = 256;

    /// <summary>How a run's epoch is chosen on validation (default <see cref="SelectionRule.Auto"/>: worst-group accuracy when validation has group labels).</summary>
    public SelectionRule Selection { get; init; } = SelectionRule.Auto;

    /// <summary>
    /// How the identification epoch T is chosen from phase I's validation results (default
    /// <see cref="SelectionRule.ValidationErrorSet()"/>: validation groups for selection). When validation shows no minority
    /// group to detect (every group as accurate as its class's best), T falls back to the best validation average accuracy, with a warning.
    /// </summary>
    public SelectionRule IdentificationRule { get; init; } = SelectionRule.ValidationErrorSet();

    /// <summary>
    /// Whether <see cref="TwoPhaseRecipe.Run"/> follows a method's published protocol when it is given no options: the
    /// method's <see cref="Catalog.MethodEntry.PublishedGrid"/> searched on validation, together with T for a method on
    /// phase-I groups (<see cref="TwoPhaseRecipe.TrainGrid(Catalog.MethodEntry, IdentifiedGroups, IReadOnlyList{object?}, string?)"/>;
    /// JTT: |T| x 3 runs and one at lambda = 0), alone on an identifier's groups without phase I (JTT: 4 runs) and for a
    /// method without groups (MixUp: 5 runs, the last at a = 0, no mixing). Default true; false trains once, with the entry's default options, at the T
    /// the identification rule chooses.
    /// </summary>
    public bool SearchPublishedGrid { get; init; } = true;

    /// <summary>
    /// Whether a search whose grid holds the method's off setting (which trains as ERM does, and which every published
    /// grid holds: JTT at lambda = 0, MixUp at a = 0, ...; <see cref="Catalog.MethodEntry.PublishedGrid"/>) keeps the
    /// method's best setting only when its validation score exceeds that ERM run's by more than one standard error of
    /// the score (the binomial sqrt(p (1 - p) / n) of the best setting's worst group under the worst-group rule, of the
    /// whole split under average accuracy; other rules compare strictly): the one-standard-error rule of Breiman et al.
    /// (1984, CART) and Hastie, Tibshirani and Friedman (2009, The Elements of Statistical Learning, 7.10), which prefers
    /// the simpler model unless the other is clearly better. A search picks the maximum of several noisy validation
    /// scores, which overstates the winner (on the Gaussian task's validation groups of 100 samples, settings 3 to 5 points
    /// above ERM on validation were 2.4 to 6.6 below it on test; docs/results.md). Default true; false keeps the method's
    /// best setting when it is strictly better than ERM on validation. Either way ERM wins ties, and the search warns when
    /// it returns ERM (events 146 and 150).
    /// </summary>
    public bool OneStandardErrorRule { get; init; } = true;

    /// <summary>Validation evaluator options (bootstrap); defaults when null.</summary>
    public EvaluatorOptions? Evaluator { get; init; }

    /// <summary>An ORACLE reference split (usually test) evaluated after every epoch, never used for selection (<see cref="TrainingLoopOptions.OracleReference"/>).</summary>
    public IGroupDataset? OracleReference { get; init; }

    /// <summary>Called after every epoch of every run with the run's name (progress output); null for none.</summary>
    public Action<string, EpochReport>? OnEpoch { get; init; }

    /// <summary>
    /// Gather every run's next training batch on a worker thread while the current one trains (default false;
    /// <see cref="TrainingLoopOptions.PrefetchBatches"/>): worth it for images decoded from disk, with the same batches and
    /// the same numbers.
    /// </summary>
    public bool PrefetchBatches { get; init; }

    /// <summary>Throws when an option is out of range.</summary>
    public void Validate()
    {
        if (Epochs < 1) throw new ArgumentOutOfRangeException(nameof(Epochs), Epochs, "At least one epoch.");
        if (Phase1Epochs < 1) throw new ArgumentOutOfRangeException(nameof(Phase1Epochs), Phase1Epochs, "At least one candidate epoch.");
        if (BatchSize < 1) throw new ArgumentOutOfRangeException(nameof(BatchSize), BatchSize, "Must be >= 1.");
        if (EvaluationBatchSize < 1) throw new ArgumentOutOfRangeException(nameof(EvaluationBatchSize), EvaluationBatchSize, "Must be >= 1.");
        ArgumentNullException.ThrowIfNull(Selection, nameof(Selection));
        ArgumentNullException.ThrowIfNull(IdentificationRule, nameof(IdentificationRule));
        Selection.EnsureFits(Epochs, nameof(Selection));
        IdentificationRule.EnsureFits(Phase1Epochs, nameof(IdentificationRule));
    }

    /// <summary>The ready loop's options of a run.</summary>
    internal TrainingLoopOptions Loop(OptimizerStep step, SelectionRule? selection = null, int? epochs = null) => new()
    {
        Epochs = epochs ?? Epochs, BatchSize = BatchSize, EvaluationBatchSize = EvaluationBatchSize, Selection = selection ?? Selection,
        Evaluator = Evaluator, OracleReference = OracleReference, Step = step, PrefetchBatches = PrefetchBatches,
    };
}
