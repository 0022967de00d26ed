using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization;

namespace GroupRobust.Evaluation;

/// <summary>
/// The metrics every group-robustness paper reports for one evaluated split: per-group accuracy, average
/// (sample-weighted) accuracy, worst-group accuracy over non-empty groups, balanced accuracy, the Waterbirds
/// adjusted average, the worst class, and bootstrap intervals.
/// </summary>
public sealed record EvaluationResult
{
    /// <summary>Per-group accuracies, one entry per group of the scheme (empty groups included and marked). Empty when the split had no group labels.</summary>
    public required IReadOnlyList<GroupAccuracy> Groups { get; init; }

    /// <summary>Per-class accuracies.</summary>
    public required IReadOnlyList<ClassAccuracy> Classes { get; init; }

    /// <summary>Evaluated samples.</summary>
    public required long Count { get; init; }

    /// <summary>Correctly classified samples.</summary>
    public required long Correct { get; init; }

    /// <summary>Sample-weighted accuracy over the split, in [0, 1].</summary>
    public double AverageAccuracy => (double)Correct / Count;

    /// <summary>Minimum accuracy over groups with at least one sample; null without group labels.</summary>
    public double? WorstGroupAccuracy => WorstGroup is int g ? Groups[g].Accuracy : null;

    /// <summary>The group attaining <see cref="WorstGroupAccuracy"/> (the lowest id on ties); null without group labels.</summary>
    public int? WorstGroup { get; init; }

    /// <summary>Plain mean of the per-group accuracies of non-empty groups; null without group labels.</summary>
    public double? BalancedAccuracy { get; init; }

    /// <summary>
    /// Waterbirds' adjusted average: sum over groups of acc_g(eval) * N_g(train) / N(train). Null when no training
    /// group counts were given, or when a group present in training has no evaluated sample.
    /// </summary>
    public double? AdjustedAverageAccuracy { get; init; }

    /// <summary>The class with the lowest accuracy among classes with samples (lowest id on ties).</summary>
    public int? WorstClass { get; init; }

    /// <summary>Accuracy of <see cref="WorstClass"/>.</summary>
    public double? WorstClassAccuracy => WorstClass is int c ? Classes[c].Accuracy : null;

    /// <summary>The mean accuracy (recall) over classes with samples: SubpopBench's class-balanced accuracy (sklearn's <c>balanced_accuracy_score</c>). No group label is involved; null when no class has samples.</summary>
    public double? ClassBalancedAccuracy => Classes.Any(c => c.Count > 0) ? Classes.Where(c => c.Count > 0).Average(c => c.Accuracy!.Value) : null;

    /// <summary>The mean precision over classes with samples (a class never predicted counts 0), SubpopBench's "mean precision".</summary>
    public double? MacroPrecision => Classes.Any(c => c.Count > 0) ? Classes.Where(c => c.Count > 0).Average(c => c.Precision!.Value) : null;

    /// <summary>The lowest precision over classes with samples, SubpopBench's "worst precision".</summary>
    public double? WorstClassPrecision => Classes.Any(c => c.Count > 0) ? Classes.Where(c => c.Count > 0).Min(c => c.Precision!.Value) : null;

    /// <summary>The mean F1 over classes with samples, SubpopBench's "mean F1".</summary>
    public double? MacroF1 => Classes.Any(c => c.Count > 0) ? Classes.Where(c => c.Count > 0).Average(c => c.F1!.Value) : null;

    /// <summary>The lowest F1 over classes with samples, SubpopBench's "worst F1".</summary>
    public double? WorstClassF1 => Classes.Any(c => c.Count > 0) ? Classes.Where(c => c.Count > 0).Min(c => c.F1!.Value) : null;

    /// <summary>
    /// The sum over pairs of classes with samples of the difference of their accuracies, |acc_i - acc_j|: the quantity the
    /// "minimum class difference" rule minimises (BAM, Li et al., 2023; SubpopBench's ValClassDiff). No group label is
    /// involved; null when no class has samples.
    /// </summary>
    public double? ClassDifference
    {
        get
        {
            var acc = Classes.Where(c => c.Count > 0).Select(c => c.Accuracy!.Value).ToArray();
            if (acc.Length == 0) return null;
            double sum = 0;
            for (int i = 0; i < acc.Length; i++)
                for (int j = i + 1; j < acc.Length; j++) sum += Math.Abs(acc[i] - acc[j]);
            return sum;
        }
    }

    /// <summary>The number of attribute values A of the evaluated scheme (group g = y A + a); 1 when the result was built without it.</summary>
    public int NumAttributes { get; init; } = 1;

    /// <summary>
    /// The lowest accuracy over the attribute values a with samples, each over all classes (groups y A + a pooled):
    /// SubpopBench's worst-attribute accuracy. Null without group labels (or without samples).
    /// </summary>
    public double? WorstAttributeAccuracy
    {
        get
        {
            if (Groups.Count == 0) return null;
            int a = Math.Max(1, NumAttributes);
            var accuracies = Enumerable.Range(0, a)
                .Select(v => (Count: Groups.Where(g => g.Group % a == v).Sum(g => g.Count), Correct: Groups.Where(g => g.Group % a == v).Sum(g => g.Correct)))
                .Where(t => t.Count > 0)
                .Select(t => (double)t.Correct / t.Count)
                .ToArray();
            return accuracies.Length == 0 ? null : accuracies.Min();
        }
    }

    /// <summary>
    /// Macro one-vs-rest AUROC of the predicted probabilities (sklearn's <c>roc_auc_score(multi_class="ovr")</c>, as
    /// SubpopBench reports it), over classes with both positive and negative rows; null unless the evaluator computed
    /// probability metrics (<see cref="EvaluatorOptions.ProbabilityMetrics"/>) or no class had both.
    /// </summary>
    public double? Auroc { get; init; }

    /// <summary>
    /// Expected calibration error of the top label, 10 equal-width confidence bins (Guo et al., 2017), in [0, 1]; null
    /// unless the evaluator computed probability metrics (<see cref="EvaluatorOptions.ProbabilityMetrics"/>).
    /// </summary>
    public double? ExpectedCalibrationError { get; init; }

    /// <summary>Percentile-bootstrap interval of the average accuracy; null when bootstrapping is off.</summary>
    public ConfidenceInterval? AverageInterval { get; init; }

    /// <summary>Percentile-bootstrap interval of the worst-group accuracy; null when bootstrapping is off or there are no group labels.</summary>
    public ConfidenceInterval? WorstGroupInterval { get; init; }

    private static readonly JsonSerializerOptions JsonOptions = new()
    {
        WriteIndented = true,
        PropertyNamingPolicy = JsonNamingPolicy.CamelCase,
        DefaultIgnoreCondition = JsonIgnoreCondition.Never,
    };

    /// <summary>The result as indented JSON (camelCase; derived accuracies included).</summary>
    public string ToJson() => JsonSerializer.Serialize(this, JsonOptions);

    /// <summary>The result as a Markdown table of groups followed by the summary metrics.</summary>
    /// <param name="title">Optional heading line.</param>
    public string ToMarkdown(string? title = null)
    {
        var sb = new StringBuilder();
        if (title is not null) sb.Append("### ").AppendLine(title).AppendLine();
        if (Groups.Count > 0)
        {
            sb.AppendLine("| group | n | correct | accuracy |");
            sb.AppendLine("|---|---:|---:|---:|");
            foreach (var g in Groups)
                sb.AppendLine(CultureInfo.InvariantCulture, $"| {g.Name} | {g.Count} | {g.Correct} | {Percent(g.Accuracy, "empty")} |");
            sb.AppendLine();
        }
        sb.AppendLine(CultureInfo.InvariantCulture, $"- average accuracy: {Percent(AverageAccuracy)}{Ci(AverageInterval)} (n = {Count})");
        if (WorstGroup is int wg)
            sb.AppendLine(CultureInfo.InvariantCulture, $"- worst-group accuracy: {Percent(WorstGroupAccuracy)}{Ci(WorstGroupInterval)} ({Groups[wg].Name})");
        if (BalancedAccuracy is not null)
            sb.AppendLine(CultureInfo.InvariantCulture, $"- balanced accuracy: {Percent(BalancedAccuracy)}");
        if (AdjustedAverageAccuracy is not null)
            sb.AppendLine(CultureInfo.InvariantCulture, $"- adjusted average accuracy: {Percent(AdjustedAverageAccuracy)}");
        if (WorstClass is int wc)
            sb.AppendLine(CultureInfo.InvariantCulture, $"- worst class: {Classes[wc].Name} at {Percent(WorstClassAccuracy)}");
        return sb.ToString();
    }

    /// <inheritdoc />
    public override string ToString()
        => WorstGroup is null
            ? $"avg {Percent(AverageAccuracy)} (n = {Count})"
            : $"avg {Percent(AverageAccuracy)}, worst-group {Percent(WorstGroupAccuracy)} (n = {Count})";

    internal static string Percent(double? value, string empty = "n/a")
        => value is double v ? (v * 100).ToString("F2", CultureInfo.InvariantCulture) + "%" : empty;

    private static string Ci(ConfidenceInterval? ci) => ci is null ? "" : " " + ci;
}
