namespace GroupRobust.Evaluation;

/// <summary>How <see cref="ModelSelection"/> ranks epochs.</summary>
public enum SelectionCriterion
{
    /// <summary>Worst-group accuracy when every result has group labels, otherwise average accuracy.</summary>
    Auto,

    /// <summary>Highest validation worst-group accuracy (needs group labels on validation).</summary>
    WorstGroupAccuracy,

    /// <summary>Highest validation average accuracy (a rule without group labels).</summary>
    AverageAccuracy,

    /// <summary>Highest validation worst-class accuracy (a rule without group labels; SubpopBench's "min class accuracy").</summary>
    WorstClassAccuracy,

    /// <summary>
    /// Identification only (<c>IdentificationEpoch.ChooseByValidationErrorSet</c>): the highest F1 of a phase-I
    /// model's validation errors as a detector of the minority groups. It needs the minority groups besides the
    /// results, so <see cref="ModelSelection"/> and <see cref="ModelSelector"/> do not accept it.
    /// </summary>
    ValidationErrorSetF1,
}
