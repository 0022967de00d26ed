using GroupRobust.Identification;
using GroupRobust.Internal;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace GroupRobust.Evaluation;

/// <summary>
/// Chooses the identification epoch T from per-epoch phase-I validation results with a <see cref="SelectionRule"/>, the
/// same rules that choose a model's epoch, within a label budget:
/// <list type="bullet">
/// <item><description>Validation groups for selection (the default, as JTT and JM1 are published):
/// <see cref="SelectionRule.ValidationErrorSet()"/>, the epoch whose validation mistakes best pick out the minority
/// groups, which are themselves decided from validation (<see cref="MinorityGroupsFromValidation"/>).
/// <see cref="ChooseJointly"/> is JTT's own protocol (T and the phase-II epoch together, one phase-II run per T).</description></item>
/// <item><description>No group labels: <see cref="SelectionRule.AverageAccuracy"/> (the early-stopping point), or
/// <see cref="SelectionRule.FixedEpoch"/>; phase II is then selected by validation average or worst-class accuracy.</description></item>
/// <item><description>Oracle: the error-set rule with the minority groups of the training split
/// (<see cref="OracleIdentifier.MinorityGroupsOf"/>) reads training group counts; report it as an oracle.</description></item>
/// </list>
/// <see cref="SelectionRule.WorstGroupAccuracy"/> also works, but it picks the epoch where ERM is most robust, whose
/// error set is the least informative (docs/results.md).
/// </summary>
public static class IdentificationEpoch
{
    /// <summary>Chooses T by <paramref name="rule"/> and logs the choice with its reason.</summary>
    /// <param name="history">Per-epoch validation results of phase I, at least one.</param>
    /// <param name="rule">The rule (default <see cref="SelectionRule.ValidationErrorSet()"/>, the rule for "validation groups for selection").</param>
    /// <param name="logger">Receives the choice; <see cref="NullLogger"/> by default.</param>
    /// <exception cref="ArgumentException">The history is empty, or lacks what the rule reads.</exception>
    public static EpochChoice Choose(IReadOnlyList<EpochResult> history, SelectionRule? rule = null, ILogger? logger = null)
    {
        ArgumentNullException.ThrowIfNull(history);
        if (history.Count == 0) throw new ArgumentException("The phase-I history is empty; evaluate at least one epoch on validation.", nameof(history));
        var resolved = (rule ?? SelectionRule.ValidationErrorSet()).Resolve(history);
        int best = resolved.BestIndex(history);
        double score = resolved.Scores(history)[best];
        string reason = $"highest validation {resolved.Name} over {history.Count} epochs (first epoch on ties)";
        Log.IdentificationEpochChosen(logger ?? NullLogger.Instance, history[best].Epoch, resolved.Name, score, reason);
        return new EpochChoice(history[best].Epoch, resolved, score, reason);
    }

    /// <summary>
    /// The minority groups as validation shows them: within each class, every group whose validation accuracy, averaged
    /// over the phase-I epochs of <paramref name="history"/>, is below the best group of that class (groups without
    /// validation samples are skipped). It reads only validation group labels and the phase-I models' behaviour there,
    /// so it works on a group-balanced validation set, where the training-count rule has nothing to go on.
    /// </summary>
    /// <param name="history">Per-epoch phase-I validation results with group labels, at least one.</param>
    /// <exception cref="ArgumentException">The history is empty or lacks group labels.</exception>
    public static IReadOnlyList<int> MinorityGroupsFromValidation(IReadOnlyList<EpochResult> history)
    {
        ArgumentNullException.ThrowIfNull(history);
        if (history.Count == 0) throw new ArgumentException("The phase-I history is empty; evaluate at least one epoch on validation.", nameof(history));
        if (history.Any(e => e.Result.Groups.Count == 0))
            throw new ArgumentException("Deciding the minority groups from validation needs group labels on every validation result.", nameof(history));
        int groups = history[0].Result.Groups.Count, classes = history[0].Result.Classes.Count;
        if (history.Any(e => e.Result.Groups.Count != groups))
            throw new ArgumentException("The validation results have different numbers of groups.", nameof(history));
        int perClass = groups / classes;
        var mean = new double?[groups];
        for (int g = 0; g < groups; g++)
        {
            var accs = history.Select(e => e.Result.Groups[g].Accuracy).Where(a => a is not null).Select(a => a!.Value).ToArray();
            mean[g] = accs.Length == 0 ? null : accs.Average();
        }
        var minority = new List<int>();
        for (int y = 0; y < classes; y++)
        {
            var present = Enumerable.Range(y * perClass, perClass).Where(g => mean[g] is not null).ToArray();
            if (present.Length < 2) continue;
            double best = present.Max(g => mean[g]!.Value);
            minority.AddRange(present.Where(g => mean[g]!.Value < best));
        }
        return minority;
    }

    /// <summary>
    /// JTT's own protocol: the identification epoch T and the phase-II epoch chosen jointly, as the pair whose phase-II
    /// model has the best validation score under <paramref name="rule"/> (first T, then first epoch, on ties). One
    /// phase-II run per candidate T.
    /// </summary>
    /// <param name="phase2ByT">Per candidate T, the phase-II run's per-epoch validation results.</param>
    /// <param name="rule">Ranking rule (default <see cref="SelectionRule.Auto"/>: worst-group accuracy when validation has group labels).</param>
    /// <returns>The chosen T, the chosen phase-II epoch and its score.</returns>
    /// <exception cref="ArgumentException">No candidate, or a candidate without epochs.</exception>
    public static (int T, EpochResult Phase2, double Score) ChooseJointly(IReadOnlyDictionary<int, IReadOnlyList<EpochResult>> phase2ByT,
        SelectionRule? rule = null)
    {
        ArgumentNullException.ThrowIfNull(phase2ByT);
        if (phase2ByT.Count == 0) throw new ArgumentException("At least one candidate T is needed.", nameof(phase2ByT));
        (int T, EpochResult Phase2, double Score)? best = null;
        foreach (var (t, history) in phase2ByT.OrderBy(kv => kv.Key))
        {
            if (history.Count == 0) throw new ArgumentException($"The phase-II run of T = {t} has no epochs.", nameof(phase2ByT));
            var resolved = (rule ?? SelectionRule.Auto).Resolve(history);
            double score = resolved.BestScore(history);
            if (best is null || score > best.Value.Score) best = (t, history[resolved.BestIndex(history)], score);
        }
        return best!.Value;
    }

    /// <summary>F1 of "misclassified" as a detector of membership in <paramref name="minorityGroups"/>, from a result's per-group counts (0 when nothing is detected).</summary>
    /// <exception cref="ArgumentException">The result has no group labels or a group id is out of range.</exception>
    public static double ValidationErrorSetF1(EvaluationResult result, IReadOnlyCollection<int> minorityGroups)
    {
        ArgumentNullException.ThrowIfNull(result);
        ArgumentNullException.ThrowIfNull(minorityGroups);
        if (result.Groups.Count == 0) throw new ArgumentException("The result has no group labels.", nameof(result));
        foreach (var g in minorityGroups)
            if ((uint)g >= (uint)result.Groups.Count)
                throw new ArgumentException($"Minority group {g} is out of range [0, {result.Groups.Count - 1}].", nameof(minorityGroups));
        var minority = minorityGroups.ToHashSet();
        long s = 0, ns = 0, total = 0;
        foreach (var g in result.Groups)
        {
            long errors = g.Count - g.Correct;
            if (minority.Contains(g.Group))
            {
                s += errors;
                total += g.Count;
            }
            else ns += errors;
        }
        if (s == 0 || total == 0) return 0;
        double precision = (double)s / (s + ns), recall = (double)s / total;
        return 2 * precision * recall / (precision + recall);
    }
}
