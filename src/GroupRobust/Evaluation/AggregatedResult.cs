using System.Globalization;
using System.Text;

namespace GroupRobust.Evaluation;

/// <summary>Mean ± standard deviation of every metric over several runs of one method (see <see cref="Aggregate"/>).</summary>
public sealed record AggregatedResult
{
    /// <summary>Average accuracy over runs.</summary>
    public required MetricSummary AverageAccuracy { get; init; }

    /// <summary>Worst-group accuracy over runs; null without group labels.</summary>
    public MetricSummary? WorstGroupAccuracy { get; init; }

    /// <summary>Balanced accuracy over runs; null without group labels.</summary>
    public MetricSummary? BalancedAccuracy { get; init; }

    /// <summary>Adjusted average accuracy over runs where it was defined; null when no run had it.</summary>
    public MetricSummary? AdjustedAverageAccuracy { get; init; }

    /// <summary>Per-group accuracy over runs where the group was non-empty (null entries for groups empty in every run).</summary>
    public required IReadOnlyList<MetricSummary?> Groups { get; init; }

    /// <summary>Group names, aligned with <see cref="Groups"/>.</summary>
    public required IReadOnlyList<string> GroupNames { get; init; }

    /// <summary>Summarises results of the same split and scheme over runs.</summary>
    /// <param name="runs">At least one result; all with the same groups.</param>
    /// <exception cref="ArgumentException">No runs, or runs with different group structures.</exception>
    public static AggregatedResult Aggregate(IReadOnlyList<EvaluationResult> runs)
    {
        ArgumentNullException.ThrowIfNull(runs);
        if (runs.Count == 0) throw new ArgumentException("At least one run is needed.", nameof(runs));
        int groups = runs[0].Groups.Count;
        if (runs.Any(r => r.Groups.Count != groups))
            throw new ArgumentException("All runs must have the same groups.", nameof(runs));
        static MetricSummary? Of(IEnumerable<double?> xs)
        {
            var v = xs.Where(x => x is not null).Select(x => x!.Value).ToArray();
            return v.Length == 0 ? null : MetricSummary.Of(v);
        }
        return new AggregatedResult
        {
            AverageAccuracy = MetricSummary.Of(runs.Select(r => r.AverageAccuracy).ToArray()),
            WorstGroupAccuracy = Of(runs.Select(r => r.WorstGroupAccuracy)),
            BalancedAccuracy = Of(runs.Select(r => r.BalancedAccuracy)),
            AdjustedAverageAccuracy = Of(runs.Select(r => r.AdjustedAverageAccuracy)),
            Groups = Enumerable.Range(0, groups).Select(g => Of(runs.Select(r => r.Groups[g].Accuracy))).ToArray(),
            GroupNames = runs[0].Groups.Select(g => g.Name).ToArray(),
        };
    }

    /// <inheritdoc />
    public override string ToString()
    {
        var sb = new StringBuilder();
        sb.Append(CultureInfo.InvariantCulture, $"avg {AverageAccuracy}");
        if (WorstGroupAccuracy is not null) sb.Append(CultureInfo.InvariantCulture, $", worst-group {WorstGroupAccuracy}");
        sb.Append(CultureInfo.InvariantCulture, $" ({AverageAccuracy.Runs} runs)");
        return sb.ToString();
    }
}
