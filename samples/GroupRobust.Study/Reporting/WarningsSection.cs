using System.Globalization;
using System.Text;

namespace GroupRobust.Study.Reporting;

/// <summary>
/// The report's list of the library's warnings, by row and seed: the recipe's guards (events 143, 144, 146 to 150), the
/// mixer's unmixed samples, a fallback of the identification rule. A warned seed is one whose number a reader should not
/// take at face value without reading why.
/// </summary>
internal static class WarningsSection
{
    /// <summary>Event 145: a progress reporter (the console, TensorBoard) could not write; nothing about the row's training.</summary>
    private const int ReporterFailed = 145;

    /// <summary>
    /// The seeds on which the library warned about <paramref name="scope"/>'s training (a row's spec or a no-labels row's
    /// name), in order: every warning but a progress reporter's failure to write.
    /// </summary>
    public static IReadOnlyList<int> SeedsWarned(IReadOnlyList<WarningRecord> warnings, string? scope)
        => scope is null ? [] : warnings.Where(w => w.Scope == scope && w.EventId != ReporterFailed).Select(w => w.Seed).Distinct().Order().ToList();

    /// <summary>The Markdown section: one line per scope, seed and event, with the first message and how often it came.</summary>
    public static string Markdown(IReadOnlyList<WarningRecord> warnings, IReadOnlyList<MethodResult> results)
    {
        var sb = new StringBuilder();
        sb.AppendLine("## Warnings the library logged").AppendLine();
        if (warnings.Count == 0)
        {
            sb.AppendLine("None.").AppendLine();
            return sb.ToString();
        }
        sb.AppendLine("Each warning once per row, seed and event (event ids: docs/bad-input.md), with how often it came and its first message; " +
                      $"\"{WarningRecorder.PhaseOneScope}\" is what the data and phase I logged, \"identification: NAME\" what an identifier did (the rows on its groups share it). " +
                      "A no-labels row that is the main JM1 run repeats that run's warnings, but for the guards that read validation groups (events 144, 146, 148), which it does not read.").AppendLine();
        sb.AppendLine("| row | seed | event | times | first message |");
        sb.AppendLine("|---|---:|---:|---:|---|");
        // a row's scope is its spec; the report's rows are named by method, so the line gives both
        var names = results.Where(r => r.Spec is not null).GroupBy(r => r.Spec!).ToDictionary(g => g.Key, g => g.First().Method);
        foreach (var group in warnings.GroupBy(w => (w.Scope, w.Seed, w.EventId)))
        {
            var (scope, seed, id) = group.Key;
            string row = names.TryGetValue(scope, out var name) ? $"{name} (`{scope}`)" : scope;
            sb.AppendLine(CultureInfo.InvariantCulture, $"| {Escape(row)} | {seed} | {id} | {group.Count()} | {Escape(group.First().Message)} |");
        }
        sb.AppendLine();
        return sb.ToString();
    }

    /// <summary>A message on one table line: no line breaks, pipes escaped.</summary>
    private static string Escape(string text) => text.Replace("\r", " ", StringComparison.Ordinal).Replace("\n", " ", StringComparison.Ordinal).Replace("|", "\\|", StringComparison.Ordinal);
}
