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
}
