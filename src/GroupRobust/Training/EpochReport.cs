using System.Globalization;
using GroupRobust.Evaluation;
using GroupRobust.Methods;

namespace GroupRobust.Training;

/// <summary>One epoch of <see cref="TrainingLoop"/>: the training loss, the method's statistics and the validation result.</summary>
public sealed record EpochReport
{
    /// <summary>The epoch (numbered from 1: epoch 1 is the first pass).</summary>
    public required int Epoch { get; init; }

    /// <summary>The number of epochs of the run.</summary>
    public required int TotalEpochs { get; init; }

    /// <summary>Mean training loss over the epoch's batches.</summary>
    public required double TrainLoss { get; init; }

    /// <summary>The method's statistics of the epoch.</summary>
    public required MethodEpochSummary Method { get; init; }

    /// <summary>The validation metrics after the epoch.</summary>
    public required EvaluationResult Validation { get; init; }

    /// <summary>The oracle reference split's metrics after the epoch (<see cref="TrainingLoopOptions.OracleReference"/>); null when none was given. Never used for selection.</summary>
    public EvaluationResult? OracleReference { get; init; }

    /// <summary>Whether this epoch is the best so far under the selection rule.</summary>
    public required bool IsBest { get; init; }

    /// <summary>Wall-clock seconds of the epoch (training and validation).</summary>
    public required double Seconds { get; init; }

    /// <inheritdoc />
    public override string ToString() => string.Create(CultureInfo.InvariantCulture,
        $"epoch {Epoch}/{TotalEpochs}: train loss {TrainLoss:F4}, validation {Validation}{(IsBest ? " (best)" : "")}, {Seconds:F1} s");
}
