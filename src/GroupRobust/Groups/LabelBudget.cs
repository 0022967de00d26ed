namespace GroupRobust.Groups;

/// <summary>
/// Which group labels a method, a selection rule or a whole run reads, from least to most (the budgets practitioners work
/// under; SubpopBench's selection rules are organised the same way). Ordered: a run's budget is the largest of its parts'.
/// </summary>
public enum LabelBudget
{
    /// <summary>No group labels anywhere: only class labels (the JM1 paper's Table 4 setting).</summary>
    None = 0,

    /// <summary>Group labels of the validation split, used only to choose among trained models or phase-I epochs (JTT and JM1 as published).</summary>
    ValidationGroupsForSelection = 1,

    /// <summary>Group labels of the validation split used to fit parameters (for example last-layer retraining on validation).</summary>
    ValidationGroupsForFitting = 2,

    /// <summary>Group labels of the training split (GroupDRO, GroupJM1, every oracle variant).</summary>
    TrainingGroups = 3,
}
