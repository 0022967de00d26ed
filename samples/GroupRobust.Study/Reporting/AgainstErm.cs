using System.Globalization;
using System.Text;
using GroupRobust.Evaluation;
using GroupRobust.Groups;

namespace GroupRobust.Study.Reporting;

/// <summary>
/// The report's comparison with ERM: every row's test worst-group accuracy minus the ERM row's on the same seed (the same
/// data, initialisation and seed stream), the share of the ERM -> GroupDRO gap it closes, and the verdict the label-light
/// issue asks for: the best row that reads no training group label, and every such row below ERM.
/// </summary>
internal static class AgainstErm
{
    /// <summary>One row of the comparison: its per-seed differences from ERM (fractions) and its mean test worst-group.</summary>
    internal sealed record Row(string Name, LabelBudget Labels, IReadOnlyList<double> Differences, double Mean)
    {
        /// <summary>The row's scope in the warnings: its <c>--methods</c> spec, or its name for a no-labels row.</summary>
        public string? Scope { get; init; }

        /// <summary>A label-light row reads no training group label: none, or validation groups to select (T, the epoch, options).</summary>
        public bool LabelLight => Labels is LabelBudget.None or LabelBudget.ValidationGroupsForSelection;

        /// <summary>The mean paired difference from ERM (a fraction).</summary>
        public double MeanDifference => Differences.Average();

        /// <summary>On how many seeds the row is below ERM.</summary>
        public int SeedsBelow => Differences.Count(d => d < 0);

        /// <summary>
        /// The one-sided p-value of a paired t-test that the row is below ERM: Student's t with n - 1 degrees of freedom
        /// at mean / (s / sqrt(n)), s the sample standard deviation of the differences; null for one seed or differences
        /// that are all equal.
        /// </summary>
        public double? PBelow
        {
            get
            {
                int n = Differences.Count;
                if (n < 2) return null;
                double s = MathNet.Numerics.Statistics.Statistics.StandardDeviation(Differences);
                return s > 0 ? MathNet.Numerics.Distributions.StudentT.CDF(0, 1, n - 1, MeanDifference / (s / Math.Sqrt(n))) : null;
            }
        }
    }

    /// <summary>
    /// The rows compared with ERM (the row of spec "erm"), paired by seed: the results' rows, then the no-labels JM1 rows.
    /// Empty when there is no ERM row or no group labels on test.
    /// </summary>
    public static IReadOnlyList<Row> Rows(IReadOnlyList<MethodResult> results, IReadOnlyList<NoLabelRecord> noLabels)
    {
        var erm = results.Where(r => r.Spec == "erm" && r.Test.WorstGroupAccuracy is not null).ToDictionary(r => r.Seed, r => r.Test.WorstGroupAccuracy!.Value);
        if (erm.Count == 0) return [];
        Row? Compare(string name, IReadOnlyList<MethodResult> rs)
        {
            var paired = rs.Where(r => r.Test.WorstGroupAccuracy is not null && erm.ContainsKey(r.Seed)).ToList();
            return paired.Count == 0 ? null
                : new Row(name, rs[0].LabelsUsed, paired.Select(r => r.Test.WorstGroupAccuracy!.Value - erm[r.Seed]).ToList(), paired.Average(r => r.Test.WorstGroupAccuracy!.Value))
                {
                    Scope = rs[0].Spec ?? name,
                };
        }
        var rows = StudyReport.MethodOrder(results).Where(m => results.First(r => r.Method == m).Spec != "erm")
            .Select(m => Compare(m, results.Where(r => r.Method == m).ToList()));
        var noLabelRows = NoLabelRecord.Rows(noLabels).Select(row => Compare(row.Key, row.Select(n => n.Result).ToList()));
        return rows.Concat(noLabelRows).OfType<Row>().ToList();
    }

    /// <summary>The Markdown section; empty when there is no ERM row to compare with.</summary>
    public static string Markdown(IReadOnlyList<MethodResult> results, IReadOnlyList<NoLabelRecord> noLabels, IReadOnlyList<WarningRecord> warnings, int runs)
    {
        var rows = Rows(results, noLabels);
        if (rows.Count == 0) return "";
        double ermMean = results.Where(r => r.Spec == "erm" && r.Test.WorstGroupAccuracy is not null).Average(r => r.Test.WorstGroupAccuracy!.Value);
        // the gap's far end: GroupDRO on the true groups (its published groups), when the study ran it and it beats ERM
        var dro = results.Where(r => r.Spec == "groupdro" && r.Test.WorstGroupAccuracy is not null).ToList();
        double? gap = dro.Count > 0 && dro.Average(r => r.Test.WorstGroupAccuracy!.Value) is var d && d > ermMean ? d - ermMean : null;
        string Points(double v) => (v * 100).ToString("+0.0;-0.0;+0.0", CultureInfo.InvariantCulture);
        string Difference(Row r) => r.Differences.Count > 1
            ? string.Create(CultureInfo.InvariantCulture, $"{Points(r.MeanDifference)} ± {MetricSummary.Of(r.Differences.ToList()).StandardDeviation * 100:F1}") : Points(r.MeanDifference);
        string Gap(Row r) => gap is double g ? ((r.Mean - ermMean) / g * 100).ToString("F0", CultureInfo.InvariantCulture) + "%" : "n/a";

        var sb = new StringBuilder();
        sb.AppendLine("## Against ERM: test worst-group accuracy, paired by seed").AppendLine();
        sb.AppendLine("Each row minus the ERM row on the same seed (the same data, initialisation and seed stream), in points" + (runs > 1 ? " (mean ± std over seeds)" : "") +
                      "; \"gap closed\" is the share of the ERM -> GroupDRO gap (GroupDRO on the true groups reads training group labels)" + (gap is null ? ", n/a without a GroupDRO row above ERM" : "") +
                      "; \"p (below)\" is the one-sided p-value of a paired t-test over seeds that the row is below ERM; \"seeds warned\" are the seeds on which the library warned about the row's training (next section, which lists identification's apart). " +
                      "A label-light row reads no training group label: none, or validation groups to select.").AppendLine();
        sb.AppendLine("| method | labels used | label-light | worst-group vs ERM | seeds below ERM | p (below) | gap closed | seeds warned |");
        sb.AppendLine("|---|---|:---:|---:|---:|---:|---:|---:|");
        string Warned(Row r) => string.Join(", ", WarningsSection.SeedsWarned(warnings, r.Scope));
        foreach (var r in rows)
            sb.AppendLine(CultureInfo.InvariantCulture, $"| {r.Name} | {StudyReport.Labels(r.Labels)} | {(r.LabelLight ? "✓" : "")} | {Difference(r)} | {r.SeedsBelow} of {r.Differences.Count} | {(r.PBelow is double p ? p.ToString("F3", CultureInfo.InvariantCulture) : "n/a")} | {Gap(r)} | {Warned(r)} |");
        sb.AppendLine();
        string WarnedOn(Row r) => WarningsSection.SeedsWarned(warnings, r.Scope) is { Count: > 0 } seeds ? $"; the library warned on seed{(seeds.Count > 1 ? "s" : "")} {string.Join(", ", seeds)}" : "";
        var light = rows.Where(r => r.LabelLight).ToList();
        if (light.Count > 0)
        {
            var best = light.MaxBy(r => r.Mean)!;
            sb.AppendLine($"- Best label-light row: {best.Name}, {Difference(best)} points" + (gap is null ? "" : $", {Gap(best)} of the ERM -> GroupDRO gap") + ".");
            var below = light.Where(r => r.MeanDifference < 0).OrderBy(r => r.MeanDifference).ToList();
            sb.AppendLine("- Label-light rows below ERM's mean worst-group: " + (below.Count == 0 ? "none."
                : string.Join("; ", below.Select(r => $"{r.Name} ({Difference(r)}, below on {r.SeedsBelow} of {r.Differences.Count} seeds{WarnedOn(r)})")) + "."));
            var significant = below.Where(r => r.PBelow < 0.05).ToList();
            if (runs > 1 && below.Count > 0)
                sb.AppendLine("- Of them, below ERM by a paired one-sided t-test at p < 0.05: " + (significant.Count == 0 ? "none." : string.Join("; ", significant.Select(r => r.Name)) + "."));
            sb.AppendLine();
        }
        return sb.ToString();
    }
}
