namespace GroupRobust.Evaluation;

/// <summary>
/// Tracks validation results epoch by epoch and says when a new best epoch arrives, so a training loop can
/// checkpoint it (see <see cref="ModelSelection"/> for the rule).
/// </summary>
public sealed class ModelSelector
{
    private readonly List<EpochResult> _history = [];

    /// <summary>Creates a selector.</summary>
    /// <param name="criterion">The ranking rule; <see cref="SelectionCriterion.Auto"/> decides on the first result.</param>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="criterion"/> is <see cref="SelectionCriterion.ValidationErrorSetF1"/> (an identification rule) or unknown.</exception>
    public ModelSelector(SelectionCriterion criterion = SelectionCriterion.Auto)
    {
        if (criterion is not (SelectionCriterion.Auto or SelectionCriterion.WorstGroupAccuracy or SelectionCriterion.AverageAccuracy or SelectionCriterion.WorstClassAccuracy))
            throw new ArgumentOutOfRangeException(nameof(criterion), criterion, "Model selection ranks epochs by Auto, WorstGroupAccuracy, AverageAccuracy or WorstClassAccuracy.");
        Criterion = criterion;
    }

    /// <summary>The ranking rule (resolved once the first result arrives).</summary>
    public SelectionCriterion Criterion { get; private set; }

    /// <summary>All results so far, in order.</summary>
    public IReadOnlyList<EpochResult> History => _history;

    /// <summary>The best epoch so far; null before the first <see cref="Add"/>.</summary>
    public EpochResult? Best { get; private set; }

    /// <summary>Records an epoch's validation result.</summary>
    /// <returns>True when this epoch is the new best (strictly better: the first epoch wins ties).</returns>
    public bool Add(int epoch, EvaluationResult result)
    {
        ArgumentNullException.ThrowIfNull(result);
        var entry = new EpochResult(epoch, result);
        if (Criterion == SelectionCriterion.Auto) Criterion = ModelSelection.Resolve([entry], SelectionCriterion.Auto);
        double score = ModelSelection.Score(result, Criterion);
        _history.Add(entry);
        if (Best is null || score > ModelSelection.Score(Best.Result, Criterion))
        {
            Best = entry;
            return true;
        }
        return false;
    }
}
