using GroupRobust.Evaluation;

namespace GroupRobust.Study;

/// <summary>The outcome of training one method with one seed.</summary>
public sealed record MethodResult
{
    public required string Method { get; init; }
    public required int Seed { get; init; }
    public required bool UsesTrainGroups { get; init; }
    public required int BestEpoch { get; init; }
    public required IReadOnlyList<EpochResult> ValidationHistory { get; init; }
    public required EvaluationResult Test { get; init; }
    public required double Seconds { get; init; }
    public required long SamplesSeen { get; init; }
}
