using System.Globalization;
using GroupRobust.Groups;

namespace GroupRobust.Evaluation;

/// <summary>Always one given epoch (<see cref="SelectionRule.FixedEpoch"/>): a fixed T.</summary>
internal sealed class FixedEpochRule(int epoch) : SelectionRule
{
    public override string Name => string.Create(CultureInfo.InvariantCulture, $"fixed epoch {epoch}");

    public override LabelBudget LabelBudget => LabelBudget.None;

    public override double[] Scores(IReadOnlyList<EpochResult> history)
    {
        ArgumentNullException.ThrowIfNull(history);
        if (history.All(e => e.Epoch != epoch))
            throw new ArgumentException($"The history has no epoch {epoch} (it has {string.Join(", ", history.Select(e => e.Epoch))}).", nameof(history));
        return history.Select(e => e.Epoch == epoch ? 1.0 : 0.0).ToArray();
    }
}
