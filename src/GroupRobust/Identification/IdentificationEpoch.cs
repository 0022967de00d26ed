using GroupRobust.Evaluation;
using GroupRobust.Internal;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace GroupRobust.Identification;

/// <summary>
/// Chooses the identification epoch T from per-epoch phase-I validation results. With group labels on validation:
/// the highest worst-group accuracy, the first epoch on ties (as JTT tunes T). Without them (group-free rule): the
/// highest validation average accuracy, the first epoch on ties — the ordinary early-stopping point, after which ERM
/// starts to memorise the minority samples and the error set shrinks towards noise.
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
}
