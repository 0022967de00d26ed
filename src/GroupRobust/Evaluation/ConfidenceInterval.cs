namespace GroupRobust.Evaluation;

/// <summary>A two-sided confidence interval.</summary>
/// <param name="Lower">Lower bound.</param>
/// <param name="Upper">Upper bound.</param>
/// <param name="Level">Confidence level, e.g. 0.95.</param>
public sealed record ConfidenceInterval(double Lower, double Upper, double Level)
{
    /// <inheritdoc />
    public override string ToString()
        => FormattableString.Invariant($"[{Lower * 100:F2}, {Upper * 100:F2}] ({Level * 100:F0}% CI)");
}
