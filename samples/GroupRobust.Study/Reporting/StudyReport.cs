using System.Globalization;
using System.Text;
using GroupRobust.Evaluation;

namespace GroupRobust.Study.Reporting;

/// <summary>The study's tables, in the shape of the JM1 paper's Tables 1, 2 and 4, as Markdown.</summary>
internal static class StudyReport
{
    private static string P(double v) => (v * 100).ToString("F1", CultureInfo.InvariantCulture);

    private static string Cell(MetricSummary? m, int runs) => m is null ? "n/a" : runs > 1 ? m.ToString() : P(m.Mean);

    public static IReadOnlyList<string> MethodOrder(IEnumerable<MethodResult> results) => results.Select(r => r.Method).Distinct().ToList();

    public static string Markdown(StudyOptions options, IReadOnlyList<MethodResult> results, IReadOnlyList<IdentificationRecord> identification, TimeSpan elapsed)
    {
        var sb = new StringBuilder();
        int runs = options.Seeds.Count;
        sb.AppendLine("# GroupRobust study: Spurious Fashion-MNIST").AppendLine();
        sb.AppendLine(CultureInfo.InvariantCulture, $"Date {DateTime.UtcNow:yyyy-MM-dd HH:mm} UTC; machine: {Environment.ProcessorCount} cores, {System.Runtime.InteropServices.RuntimeInformation.OSDescription}; total time {elapsed.TotalMinutes:F1} min.");
        sb.AppendLine(CultureInfo.InvariantCulture, $"Settings: {options.Epochs} epochs, phase I candidates T in 1..{options.Phase1Epochs} (rule {options.IdentificationRule}), batch {options.BatchSize}, Adam lr {options.LearningRate}, train size {options.TrainSize}, spurious correlation {options.Correlation}, " +
                      $"JM1 layer '{options.MixingLayer}', alpha schedule {options.Schedule().Name}, orientation {options.Orientation}, JTT lambda {options.JttLambda}, seeds [{string.Join(", ", options.Seeds)}].");
        sb.AppendLine("Model selection: the epoch with the best validation worst-group accuracy (first on ties). Test numbers at that epoch.").AppendLine();

        sb.AppendLine(runs > 1 ? "## Table 1: test accuracy (%; mean ± std over seeds)" : "## Table 1: test accuracy (%)").AppendLine();
        sb.AppendLine("| method | train group labels | val group labels | average | worst-group | adjusted average | best epoch | s / epoch |");
        sb.AppendLine("|---|:---:|:---:|---:|---:|---:|---:|---:|");
        foreach (var method in MethodOrder(results))
        {
            var rs = results.Where(r => r.Method == method).ToList();
            var agg = AggregatedResult.Aggregate(rs.Select(r => r.Test).ToList());
            sb.AppendLine(CultureInfo.InvariantCulture,
                $"| {method} | {(rs[0].UsesTrainGroups ? "yes" : "no")} | yes | {Cell(agg.AverageAccuracy, runs)} | {Cell(agg.WorstGroupAccuracy, runs)} | {Cell(agg.AdjustedAverageAccuracy, runs)} | {string.Join("/", rs.Select(r => r.BestEpoch))} | {rs.Average(r => r.Seconds / options.Epochs):F1} |");
        }
        sb.AppendLine();

        var groupNames = results[0].Test.Groups.Select(g => g.Name).ToList();
        sb.AppendLine("## Table 2: test accuracy per group (%)").AppendLine();
        sb.AppendLine("| method | " + string.Join(" | ", groupNames) + " |");
        sb.AppendLine("|---|" + string.Concat(Enumerable.Repeat("---:|", groupNames.Count)));
        foreach (var method in MethodOrder(results))
        {
            var agg = AggregatedResult.Aggregate(results.Where(r => r.Method == method).Select(r => r.Test).ToList());
            sb.AppendLine($"| {method} | " + string.Join(" | ", agg.Groups.Select(g => Cell(g, runs))) + " |");
        }
        sb.AppendLine();

        if (identification.Count > 0)
        {
            sb.AppendLine("## Table 4: error-set quality against the true minority groups").AppendLine();
            sb.AppendLine("| seed | source | epoch T | chosen | |E| | S (minority) | NS (majority) | precision | recall |");
            sb.AppendLine("|---:|---|---:|:---:|---:|---:|---:|---:|---:|");
            foreach (var r in identification)
                sb.AppendLine(CultureInfo.InvariantCulture,
                    $"| {r.Seed} | {r.Source} | {(r.Epoch?.ToString(CultureInfo.InvariantCulture) ?? "-")} | {(r.Chosen ? "✓" : "")} | {r.ErrorSetSize} | {r.Quality.MinorityInErrorSet} | {r.Quality.MajorityInErrorSet} | {Pct(r.Quality.Precision)} | {Pct(r.Quality.Recall)} |");
            sb.AppendLine();
        }
        sb.AppendLine("Plots: `val-worst-group.png`, `val-average.png` (validation accuracy per epoch, seed " + options.Seeds[0] + "), `test-per-group.png`.");
        return sb.ToString();
    }

    private static string Pct(double? v) => v is double d ? P(d) : "n/a";
}
