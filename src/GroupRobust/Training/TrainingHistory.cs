using GroupRobust.Evaluation;

namespace GroupRobust.Training;

/// <summary>What <see cref="TrainingLoop"/> returns: every epoch's report and the selected epoch.</summary>
public sealed record TrainingHistory
{
    /// <summary>The method's name.</summary>
    public required string Method { get; init; }

    /// <summary>
    /// The run's label budget: the largest of the method's (<see cref="Methods.ITrainingMethod.LabelBudget"/>) and the
    /// selection rule's on the validation split (<see cref="SelectionRule.BudgetOn"/>). Group labels of an oracle reference
    /// split are not counted: that report is labelled oracle.
    /// </summary>
    public required Groups.LabelBudget LabelBudget { get; init; }

    /// <summary>The selection rule, resolved (for example worst-group or average accuracy).</summary>
    public required SelectionRule Selection { get; init; }

    /// <summary>Every epoch, in order.</summary>
    public required IReadOnlyList<EpochReport> Epochs { get; init; }

    /// <summary>The selected epoch (the first best one).</summary>
    public EpochReport Best => Epochs.Last(e => e.IsBest);

    /// <summary>
    /// ORACLE, for reference only: the epoch with the best worst-group accuracy (else average accuracy) on the oracle
    /// reference split, first on ties; null without <see cref="TrainingLoopOptions.OracleReference"/>.
    /// </summary>
    public EpochReport? OracleBest
    {
        get
        {
            var scored = Epochs.Where(e => e.OracleReference is not null).ToList();
            if (scored.Count == 0) return null;
            return scored[SelectionRule.Auto.BestIndex(scored.Select(e => new EpochResult(e.Epoch, e.OracleReference!)).ToArray())];
        }
    }

    /// <summary>The validation results as <see cref="EpochResult"/>s (epochs numbered from 1), e.g. for <see cref="IdentificationEpoch"/>.</summary>
    public IReadOnlyList<EpochResult> ValidationHistory => Epochs.Select(e => new EpochResult(e.Epoch, e.Validation)).ToArray();

    /// <summary>Collections print as their items, not as "System.String[]" (the members of the compiler's <c>ToString</c>).</summary>
    private bool PrintMembers(System.Text.StringBuilder builder) => GroupRobust.Internal.RecordText.Print(this, builder);
}
