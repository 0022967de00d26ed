using GroupRobust.Groups;

namespace GroupRobust.Evaluation;

/// <summary>Highest validation worst-class accuracy (<see cref="SelectionRule.WorstClassAccuracy"/>).</summary>
internal sealed class WorstClassAccuracyRule : SelectionRule
{
    public override string Name => "worst-class accuracy";

    public override LabelBudget LabelBudget => LabelBudget.None;

    public override double[] Scores(IReadOnlyList<EpochResult> history)
        => history.Select(e => e.Result.WorstClassAccuracy ?? throw new ArgumentException("A validation result has no class with samples.", nameof(history))).ToArray();
}
