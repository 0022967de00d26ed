using GroupRobust.Groups;

namespace GroupRobust.Evaluation;

/// <summary>Highest validation worst-group accuracy (<see cref="SelectionRule.WorstGroupAccuracy"/>).</summary>
internal sealed class WorstGroupAccuracyRule : SelectionRule
{
    public override string Name => "worst-group accuracy";

    public override LabelBudget LabelBudget => LabelBudget.ValidationGroupsForSelection;

    internal override bool ReadsValidationGroups => true;

    public override double[] Scores(IReadOnlyList<EpochResult> history)
    {
        RequireGroups(history);
        return history.Select(e => e.Result.WorstGroupAccuracy!.Value).ToArray();
    }

    internal override double? StandardError(EvaluationResult result)
        => result.WorstGroup is int g ? BinomialStandardError(result.Groups[g].Correct, result.Groups[g].Count) : null;
}
