using GroupRobust.Groups;

namespace GroupRobust.Evaluation;

/// <summary>
/// The F1 of validation mistakes as a detector of the minority groups (<see cref="SelectionRule.ValidationErrorSet()"/>):
/// with given minority groups each epoch is scored alone; without, they are decided from the whole history.
/// </summary>
internal sealed class ValidationErrorSetRule(int[]? minorityGroups, LabelBudget budget) : SelectionRule
{
    public override string Name => minorityGroups is null ? "validation error-set F1" : $"validation error-set F1 (minority groups {string.Join(", ", minorityGroups)})";

    public override LabelBudget LabelBudget => budget;

    internal override bool ReadsValidationGroups => true;

    public override bool ScoresEachEpochAlone => minorityGroups is not null;

    public override double[] Scores(IReadOnlyList<EpochResult> history)
    {
        RequireGroups(history);
        IReadOnlyCollection<int> minority = minorityGroups ?? IdentificationEpoch.MinorityGroupsFromValidation(history);
        if (minority.Count == 0)
            throw new ArgumentException("Validation shows no group below another of its class, so there is no minority to detect; choose by another rule.", nameof(history));
        return history.Select(e => IdentificationEpoch.ValidationErrorSetF1(e.Result, minority)).ToArray();
    }
}
