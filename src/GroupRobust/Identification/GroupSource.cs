namespace GroupRobust.Identification;

/// <summary>Where the group ids of a <see cref="GroupAssignment"/> come from: the label budget they stand for.</summary>
public enum GroupSource
{
    /// <summary>Inferred without group labels of the training set (an error set, loss ranking, inferred environments).</summary>
    Inferred,

    /// <summary>The dataset's true group annotations (or groups derived from them, such as the oracle partition): a method fed with it uses training group labels.</summary>
    TrueLabels,

    /// <summary>
    /// Inferred by a model fitted on the validation split's group labels (SSA's attribute predictor): no training group
    /// label is read, but a method fed with it uses validation group labels for fitting
    /// (<see cref="Groups.LabelBudget.ValidationGroupsForFitting"/>).
    /// </summary>
    FittedOnValidationGroups,
}
