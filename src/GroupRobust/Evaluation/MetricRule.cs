using GroupRobust.Groups;

namespace GroupRobust.Evaluation;

/// <summary>
/// A rule that scores each epoch by one metric of its validation result (SubpopBench's <c>model_selection.py</c> rules
/// beyond accuracy): the library's precision, F1, class-balanced accuracy, AUROC, class-difference and worst-attribute rules.
/// </summary>
internal sealed class MetricRule(string name, LabelBudget budget, Func<EvaluationResult, double?> score, string missing, bool needsProbabilities = false) : SelectionRule
{
    public override string Name => name;

    public override LabelBudget LabelBudget => budget;

    /// <summary>The group-based metrics (worst-attribute accuracy) read validation groups; the others no label.</summary>
    internal override bool ReadsValidationGroups => budget != LabelBudget.None;

    internal override bool NeedsProbabilities => needsProbabilities;

    public override double[] Scores(IReadOnlyList<EpochResult> history)
    {
        ArgumentNullException.ThrowIfNull(history);
        return history.Select(e => score(e.Result) ?? throw new ArgumentException($"Selection by {Name} needs {missing}; the result of epoch {e.Epoch} has none.", nameof(history))).ToArray();
    }
}
