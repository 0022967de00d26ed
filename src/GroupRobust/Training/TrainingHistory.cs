using GroupRobust.Evaluation;

namespace GroupRobust.Training;

/// <summary>What <see cref="TrainingLoop"/> returns: every epoch's report and the selected epoch.</summary>
public sealed record TrainingHistory
{
    /// <summary>The method's name.</summary>
    public required string Method { get; init; }

    /// <summary>Whether the method read training group labels.</summary>
    public required bool UsesTrainingGroupLabels { get; init; }

    /// <summary>The selection rule, resolved (worst-group or average accuracy).</summary>
    public required SelectionCriterion Selection { get; init; }

    /// <summary>Every epoch, in order.</summary>
    public required IReadOnlyList<EpochReport> Epochs { get; init; }

    /// <summary>The selected epoch (the first best one).</summary>
    public EpochReport Best => Epochs.Last(e => e.IsBest);

    /// <summary>The validation results as <see cref="EpochResult"/>s (1-based epochs), e.g. for <see cref="IdentificationEpoch"/>.</summary>
    public IReadOnlyList<EpochResult> ValidationHistory => Epochs.Select(e => new EpochResult(e.Epoch, e.Validation)).ToArray();
}
