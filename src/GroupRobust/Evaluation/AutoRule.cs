using GroupRobust.Groups;

namespace GroupRobust.Evaluation;

/// <summary>Worst-group accuracy when validation has group labels, else average accuracy (<see cref="SelectionRule.Auto"/>).</summary>
internal sealed class AutoRule : SelectionRule
{
    public override string Name => "worst-group accuracy, else average accuracy";

    public override LabelBudget LabelBudget => LabelBudget.ValidationGroupsForSelection;

    public override SelectionRule Resolve(IReadOnlyList<EpochResult> history)
    {
        ArgumentNullException.ThrowIfNull(history);
        return history.All(e => e.Result.WorstGroupAccuracy is not null) ? WorstGroupAccuracy : AverageAccuracy;
    }

    public override double[] Scores(IReadOnlyList<EpochResult> history) => Resolve(history).Scores(history);
}
