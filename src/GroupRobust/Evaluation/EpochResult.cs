namespace GroupRobust.Evaluation;

/// <summary>The validation result of one epoch.</summary>
/// <param name="Epoch">Epoch number as the caller counts it.</param>
/// <param name="Result">The validation metrics after that epoch.</param>
public sealed record EpochResult(int Epoch, EvaluationResult Result);
