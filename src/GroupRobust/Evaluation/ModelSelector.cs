namespace GroupRobust.Evaluation;

/// <summary>
/// Tracks validation results epoch by epoch and says when a new best epoch arrives, so a training loop can keep its
/// weights (the first best epoch wins ties, as <see cref="SelectionRule.Best"/>). With <see cref="SelectionRule.FixedEpoch"/>,
/// epoch 1 is the best until the fixed epoch arrives: a loop must run at least that many epochs (<c>TrainingLoop</c>
/// refuses a shorter run at its door; <see cref="SelectionRule.Best"/> on the finished history refuses one that lacks it).
/// </summary>
public sealed class ModelSelector
{
    private readonly List<EpochResult> _history = [];
    private double _bestScore = double.NaN;
    private readonly Internal.ExclusiveUse _use = new("model selector");

    /// <summary>Creates a selector.</summary>
    /// <param name="rule">The ranking rule (default <see cref="SelectionRule.Auto"/>, resolved on the first result); it must score each epoch alone.</param>
    /// <exception cref="ArgumentException">The rule compares epochs with each other (<see cref="SelectionRule.ScoresEachEpochAlone"/> is false).</exception>
    public ModelSelector(SelectionRule? rule = null)
    {
        Rule = rule ?? SelectionRule.Auto;
        if (!Rule.ScoresEachEpochAlone)
            throw new ArgumentException($"Selection by {Rule.Name} compares epochs with each other, so the best weights cannot be kept as epochs arrive; give its minority groups, or choose among a finished history with SelectionRule.Best.", nameof(rule));
    }

    /// <summary>The ranking rule (resolved once the first result arrives).</summary>
    public SelectionRule Rule { get; private set; }

    /// <summary>All results so far, in order.</summary>
    public IReadOnlyList<EpochResult> History => _history;

    /// <summary>The best epoch so far; null before the first <see cref="Add"/>.</summary>
    public EpochResult? Best { get; private set; }

    /// <summary>Records an epoch's validation result.</summary>
    /// <returns>True when this epoch is the new best (strictly better: the first epoch wins ties).</returns>
    /// <param name="epoch">The epoch the result belongs to, ≥ 1 (epochs are numbered from 1).</param>
    /// <param name="result">Its validation result.</param>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="epoch"/> is below 1.</exception>
    /// <exception cref="ArgumentException">The result lacks what the rule reads (group labels for a group-based rule).</exception>
    /// <exception cref="InvalidOperationException">Another thread is adding a result (not thread-safe).</exception>
    public bool Add(int epoch, EvaluationResult result)
    {
        using var use = _use.Enter();
        ArgumentOutOfRangeException.ThrowIfLessThan(epoch, 1);
        ArgumentNullException.ThrowIfNull(result);
        var entry = new EpochResult(epoch, result);
        if (_history.Count == 0) Rule = Rule.Resolve([entry]);
        double score = Rule.Scores([entry])[0];
        _history.Add(entry);
        if (Best is null || score > _bestScore || (double.IsNaN(_bestScore) && !double.IsNaN(score)))
        {
            Best = entry;
            _bestScore = score;
            return true;
        }
        return false;
    }
}
