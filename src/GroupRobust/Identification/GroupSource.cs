namespace GroupRobust.Identification;

/// <summary>Where the group ids of a <see cref="GroupAssignment"/> come from: the label budget they stand for.</summary>
public enum GroupSource
{
    /// <summary>Inferred without group labels of the training set (an error set, loss ranking, inferred environments).</summary>
    Inferred,

    /// <summary>The dataset's true group annotations (or groups derived from them, such as the oracle partition): a method fed with it uses training group labels.</summary>
    TrueLabels,
}
