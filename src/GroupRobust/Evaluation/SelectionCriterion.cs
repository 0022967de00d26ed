namespace GroupRobust.Evaluation;

/// <summary>How <see cref="ModelSelection"/> ranks epochs.</summary>
public enum SelectionCriterion
{
    /// <summary>Worst-group accuracy when every result has group labels, otherwise average accuracy.</summary>
    Auto,

    /// <summary>Highest validation worst-group accuracy (needs group labels on validation).</summary>
    WorstGroupAccuracy,

    /// <summary>Highest validation average accuracy (the rule without group labels).</summary>
    AverageAccuracy,

    /// <summary>
    /// Identification only (<see cref="IdentificationEpoch.ChooseByValidationErrorSet"/>): the highest F1 of a phase-I
    /// model's validation errors as a detector of the minority groups. It needs the minority groups besides the
    /// results, so <see cref="ModelSelection"/> and <see cref="ModelSelector"/> do not accept it.
    /// </summary>
    ValidationErrorSetF1,
}
