using GroupRobust.Groups;

namespace GroupRobust.Evaluation;

/// <summary>Highest validation average accuracy (<see cref="SelectionRule.AverageAccuracy"/>).</summary>
internal sealed class AverageAccuracyRule : SelectionRule
{
    public override string Name => "average accuracy";

    public override LabelBudget LabelBudget => LabelBudget.None;

    public override double[] Scores(IReadOnlyList<EpochResult> history) => history.Select(e => e.Result.AverageAccuracy).ToArray();

    internal override double? StandardError(EvaluationResult result) => BinomialStandardError(result.Correct, result.Count);
}
