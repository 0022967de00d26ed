using System.Globalization;
using GroupRobust.Groups;

namespace GroupRobust.Evaluation;

/// <summary>Always one given epoch (<see cref="SelectionRule.FixedEpoch"/>): a fixed T.</summary>
internal sealed class FixedEpochRule(int epoch) : SelectionRule
{
    /// <summary>The epoch this rule chooses (≥ 1).</summary>
    public int Epoch => epoch;

    public override string Name => string.Create(CultureInfo.InvariantCulture, $"fixed epoch {epoch}");

    public override LabelBudget LabelBudget => LabelBudget.None;

    /// <summary>1 for the epoch, 0 for every other (a loop scores the epochs as they arrive, one at a time).</summary>
    public override double[] Scores(IReadOnlyList<EpochResult> history)
    {
        ArgumentNullException.ThrowIfNull(history);
        return history.Select(e => e.Epoch == epoch ? 1.0 : 0.0).ToArray();
    }

    /// <summary>A run must reach the epoch.</summary>
    internal override void EnsureFits(int epochs, string paramName)
    {
        if (epoch > epochs)
            throw new ArgumentOutOfRangeException(paramName, epoch, $"Selection by {Name} needs at least {epoch} epochs; the run has {epochs}.");
    }

    /// <summary>A finished history must contain the epoch (else the first epoch would win by default).</summary>
    protected override void CheckChoosable(IReadOnlyList<EpochResult> history)
    {
        if (history.All(e => e.Epoch != epoch))
            throw new ArgumentException($"Selection by {Name}: the history has no epoch {epoch} (it has {string.Join(", ", history.Select(e => e.Epoch))}).", nameof(history));
    }
}
