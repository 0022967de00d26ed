using GroupRobust.Groups;

namespace GroupRobust.Evaluation;

/// <summary>
/// Model selection as every group-robustness paper does it: the epoch with the highest validation worst-group
/// accuracy, the first epoch winning ties; without group labels on validation, the highest average accuracy.
/// </summary>
public static class ModelSelection
{
    /// <summary>The best epoch of <paramref name="history"/> under <paramref name="criterion"/> (first wins ties).</summary>
    /// <param name="history">Per-epoch validation results, in training order; at least one.</param>
    /// <param name="criterion">Ranking rule (default <see cref="SelectionCriterion.Auto"/>).</param>
    /// <exception cref="ArgumentException">The history is empty, or worst-group selection was asked for results without group labels.</exception>
    public static EpochResult BestEpoch(IEnumerable<EpochResult> history, SelectionCriterion criterion = SelectionCriterion.Auto)
    {
        ArgumentNullException.ThrowIfNull(history);
        var list = history.ToList();
        if (list.Count == 0) throw new ArgumentException("The history is empty; evaluate at least one epoch.", nameof(history));
        var resolved = Resolve(list, criterion);
        EpochResult best = list[0];
        double bestScore = Score(best.Result, resolved);
        foreach (var e in list.Skip(1))
        {
            double s = Score(e.Result, resolved);
            if (s > bestScore)
            {
                best = e;
                bestScore = s;
            }
        }
        return best;
    }

    /// <summary>The criterion <paramref name="criterion"/> stands for on <paramref name="history"/> (resolves <see cref="SelectionCriterion.Auto"/>).</summary>
    public static SelectionCriterion Resolve(IReadOnlyCollection<EpochResult> history, SelectionCriterion criterion)
    {
        ArgumentNullException.ThrowIfNull(history);
        bool grouped = history.All(e => e.Result.WorstGroupAccuracy is not null);
        return criterion switch
        {
            SelectionCriterion.Auto => grouped ? SelectionCriterion.WorstGroupAccuracy : SelectionCriterion.AverageAccuracy,
            SelectionCriterion.WorstGroupAccuracy when !grouped =>
                throw new ArgumentException("Worst-group selection needs group labels on every validation result.", nameof(history)),
            _ => criterion,
        };
    }

    /// <summary>
    /// The group labels a resolved criterion reads: worst-group accuracy and the error-set rule read the validation
    /// split's groups (<see cref="LabelBudget.ValidationGroupsForSelection"/>); average and worst-class accuracy read none.
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException"><see cref="SelectionCriterion.Auto"/> (resolve it first) or an unknown value.</exception>
    public static LabelBudget BudgetOf(SelectionCriterion criterion) => criterion switch
    {
        SelectionCriterion.WorstGroupAccuracy or SelectionCriterion.ValidationErrorSetF1 => LabelBudget.ValidationGroupsForSelection,
        SelectionCriterion.AverageAccuracy or SelectionCriterion.WorstClassAccuracy => LabelBudget.None,
        _ => throw new ArgumentOutOfRangeException(nameof(criterion), criterion, "Resolve Auto first."),
    };

    /// <summary>The score of <paramref name="result"/> under a resolved criterion.</summary>
    public static double Score(EvaluationResult result, SelectionCriterion criterion)
    {
        ArgumentNullException.ThrowIfNull(result);
        return criterion switch
        {
            SelectionCriterion.WorstGroupAccuracy => result.WorstGroupAccuracy
                ?? throw new ArgumentException("The result has no group labels.", nameof(result)),
            SelectionCriterion.AverageAccuracy => result.AverageAccuracy,
            SelectionCriterion.WorstClassAccuracy => result.WorstClassAccuracy
                ?? throw new ArgumentException("The result has no class with samples.", nameof(result)),
            SelectionCriterion.ValidationErrorSetF1 => throw new ArgumentException(
                "ValidationErrorSetF1 chooses an identification epoch and needs the minority groups; use IdentificationEpoch.ChooseByValidationErrorSet.", nameof(criterion)),
            _ => throw new ArgumentOutOfRangeException(nameof(criterion), criterion, "Resolve Auto first."),
        };
    }
}
