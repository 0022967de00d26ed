using GroupRobust.Identification;
using GroupRobust.Internal;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace GroupRobust.Evaluation;

/// <summary>
/// Chooses the identification epoch T from per-epoch phase-I validation results, within a label budget:
/// <list type="bullet">
/// <item><description>Validation groups for selection (the default, as JTT and JM1 are published):
/// <see cref="ChooseByValidationErrorSet(IReadOnlyList{EpochResult}, ILogger?)"/>, the epoch whose validation mistakes best
/// pick out the minority groups, which are themselves decided from validation (<see cref="MinorityGroupsFromValidation"/>).
/// <see cref="ChooseJointly"/> is JTT's own protocol (T and the phase-II epoch together, one phase-II run per T).</description></item>
/// <item><description>No group labels: <see cref="Choose"/> with <see cref="SelectionCriterion.AverageAccuracy"/> (the
/// early-stopping point), or a fixed T; phase II is then selected by validation average or worst-class accuracy.</description></item>
/// <item><description>Oracle: the error-set rule with the minority groups of the training split
/// (<see cref="OracleIdentifier.MinorityGroupsOf"/>) reads training group counts; report it as an oracle.</description></item>
/// </list>
/// <see cref="Choose"/> with worst-group accuracy also exists, but it picks the epoch where ERM is most robust, whose
/// error set is the least informative (docs/results.md).
/// </summary>
public static class IdentificationEpoch
{
    /// <summary>Chooses T and logs the choice with its reason.</summary>
    /// <param name="history">Per-epoch validation results of phase I, at least one.</param>
    /// <param name="logger">Receives the choice; <see cref="NullLogger"/> by default.</param>
    /// <param name="criterion">Force a rule; <see cref="SelectionCriterion.Auto"/> picks by the presence of group labels.</param>
    public static EpochChoice Choose(IReadOnlyList<EpochResult> history, ILogger? logger = null, SelectionCriterion criterion = SelectionCriterion.Auto)
    {
        ArgumentNullException.ThrowIfNull(history);
        if (history.Count == 0) throw new ArgumentException("The phase-I history is empty; evaluate at least one epoch on validation.", nameof(history));
        var resolved = ModelSelection.Resolve(history, criterion);
        var best = ModelSelection.BestEpoch(history, resolved);
        double score = ModelSelection.Score(best.Result, resolved);
        string reason = resolved == SelectionCriterion.WorstGroupAccuracy
            ? $"highest validation worst-group accuracy over {history.Count} epochs (first epoch on ties)"
            : (criterion == SelectionCriterion.Auto ? "validation has no group labels, so " : "")
              + $"highest validation average accuracy over {history.Count} epochs (first epoch on ties)";
        Log.IdentificationEpochChosen(logger ?? NullLogger.Instance, best.Epoch, resolved.ToString(), score, reason);
        return new EpochChoice(best.Epoch, resolved, score, reason);
    }

    /// <summary>
    /// Chooses T by how well each phase-I model's mistakes on the group-annotated validation set pick out the minority
    /// groups: the F1 score of "misclassified" as a detector of minority membership (S = validation errors in minority
    /// groups, NS = errors in majority groups, precision S / (S + NS), recall S / |minority|), first epoch on ties. It is
    /// computed from the per-group counts the evaluator already reports, so it costs nothing extra, and it measures what
    /// phase II needs (the error set's quality) rather than phase I's own robustness.
    /// </summary>
    /// <remarks>
    /// Why not worst-group accuracy: the epoch where the ERM model is most robust on validation is the epoch where it
    /// misclassifies the fewest minority samples, so its error set is the least informative. On Spurious Fashion-MNIST
    /// (docs/results.md) the worst-group rule picked T = 2 with a training error set of recall 33%, the F1 rule T = 1
    /// with recall 83% and precision 99%, and JM1's test worst-group accuracy moved from 83.5% to 94.4%.
    /// </remarks>
    /// <param name="history">Per-epoch phase-I validation results with group labels.</param>
    /// <param name="minorityGroups">The minority groups: <see cref="MinorityGroupsFromValidation"/> for a rule that reads only validation; <see cref="OracleIdentifier.MinorityGroupsOf"/> of the training split is an ORACLE (it reads training group counts) and must be reported as one.</param>
    /// <param name="logger">Receives the choice.</param>
    /// <exception cref="ArgumentException">The history is empty, lacks group labels, or no minority group is given.</exception>
    public static EpochChoice ChooseByValidationErrorSet(IReadOnlyList<EpochResult> history, IReadOnlyCollection<int> minorityGroups, ILogger? logger = null)
    {
        ArgumentNullException.ThrowIfNull(history);
        ArgumentNullException.ThrowIfNull(minorityGroups);
        if (history.Count == 0) throw new ArgumentException("The phase-I history is empty; evaluate at least one epoch on validation.", nameof(history));
        if (minorityGroups.Count == 0) throw new ArgumentException("At least one minority group is needed.", nameof(minorityGroups));
        EpochResult? best = null;
        double bestF1 = double.NegativeInfinity;
        foreach (var e in history)
        {
            double f1 = ValidationErrorSetF1(e.Result, minorityGroups);
            if (f1 > bestF1)
            {
                best = e;
                bestF1 = f1;
            }
        }
        string reason = $"highest F1 of validation errors as a minority detector over {history.Count} epochs (first epoch on ties)";
        Log.IdentificationEpochChosen(logger ?? NullLogger.Instance, best!.Epoch, nameof(SelectionCriterion.ValidationErrorSetF1), bestF1, reason);
        return new EpochChoice(best.Epoch, SelectionCriterion.ValidationErrorSetF1, bestF1, reason);
    }

    /// <summary>
    /// <see cref="ChooseByValidationErrorSet(IReadOnlyList{EpochResult}, IReadOnlyCollection{int}, ILogger?)"/> with the
    /// minority groups decided from validation alone (<see cref="MinorityGroupsFromValidation"/>): the rule for the budget
    /// "validation groups for selection", reading no training group label.
    /// </summary>
    /// <param name="history">Per-epoch phase-I validation results with group labels.</param>
    /// <param name="logger">Receives the choice.</param>
    /// <exception cref="ArgumentException">The history is empty or lacks group labels, or validation shows no group below another of its class.</exception>
    public static EpochChoice ChooseByValidationErrorSet(IReadOnlyList<EpochResult> history, ILogger? logger = null)
        => ChooseByValidationErrorSet(history, MinorityGroupsFromValidation(history), logger);

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
    /// model has the best validation score under <paramref name="criterion"/> (first T, then first epoch, on ties). One
    /// phase-II run per candidate T.
    /// </summary>
    /// <param name="phase2ByT">Per candidate T, the phase-II run's per-epoch validation results.</param>
    /// <param name="criterion">Ranking rule (default: worst-group accuracy when validation has group labels).</param>
    /// <returns>The chosen T, the chosen phase-II epoch and its score.</returns>
    /// <exception cref="ArgumentException">No candidate, or a candidate without epochs.</exception>
    public static (int T, EpochResult Phase2, double Score) ChooseJointly(IReadOnlyDictionary<int, IReadOnlyList<EpochResult>> phase2ByT,
        SelectionCriterion criterion = SelectionCriterion.Auto)
    {
        ArgumentNullException.ThrowIfNull(phase2ByT);
        if (phase2ByT.Count == 0) throw new ArgumentException("At least one candidate T is needed.", nameof(phase2ByT));
        (int T, EpochResult Phase2, double Score)? best = null;
        foreach (var (t, history) in phase2ByT.OrderBy(kv => kv.Key))
        {
            if (history.Count == 0) throw new ArgumentException($"The phase-II run of T = {t} has no epochs.", nameof(phase2ByT));
            var resolved = ModelSelection.Resolve(history.ToArray(), criterion);
            var e = ModelSelection.BestEpoch(history, resolved);
            double score = ModelSelection.Score(e.Result, resolved);
            if (best is null || score > best.Value.Score) best = (t, e, score);
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
