using System.Globalization;

namespace GroupRobust.Evaluation;

/// <summary>Mean and standard deviation of one metric over runs (seeds), as the papers' tables report it.</summary>
/// <param name="Mean">Mean over runs.</param>
/// <param name="StandardDeviation">Population standard deviation over runs (numpy's default, ddof = 0); 0 for a single run.</param>
/// <param name="Runs">Number of runs with a value.</param>
public sealed record MetricSummary(double Mean, double StandardDeviation, int Runs)
{
    /// <summary>Summarises <paramref name="values"/> with MathNet's statistics.</summary>
    /// <param name="values">At least one value.</param>
    public static MetricSummary Of(IReadOnlyCollection<double> values)
    {
        ArgumentNullException.ThrowIfNull(values);
        if (values.Count == 0) throw new ArgumentException("At least one value is needed.", nameof(values));
        var (mean, std) = MathNet.Numerics.Statistics.Statistics.MeanStandardDeviation(values);
        double pop = values.Count == 1 ? 0 : std * Math.Sqrt((values.Count - 1.0) / values.Count);
        return new MetricSummary(mean, pop, values.Count);
    }

    /// <summary>"mean ± std" in percent with one decimal, e.g. "87.5 ± 1.2".</summary>
    public override string ToString()
        => string.Create(CultureInfo.InvariantCulture, $"{Mean * 100:F1} ± {StandardDeviation * 100:F1}");
}
