using GroupRobust.Data;
using GroupRobust.Groups;

namespace GroupRobust.Evaluation;

/// <summary>
/// A rule that ranks epochs by their validation results: which epoch's model to keep, and which phase-I epoch T to
/// identify groups at (the same rules serve both). A rule has a name, the labels it reads (<see cref="LabelBudget"/>)
/// and a score per epoch; the first epoch with the highest score wins (SubpopBench's model_selection.py: a rule per
/// class). The library's rules are the static members; derive from this class for another.
/// </summary>
public abstract class SelectionRule
{
    /// <summary>Highest validation worst-group accuracy: the rule every group-robustness paper selects with (reads validation group labels).</summary>
    public static SelectionRule WorstGroupAccuracy { get; } = new WorstGroupAccuracyRule();

    /// <summary>Highest validation average accuracy (reads no group label).</summary>
    public static SelectionRule AverageAccuracy { get; } = new AverageAccuracyRule();

    /// <summary>Highest validation worst-class accuracy (reads no group label; SubpopBench's "min class accuracy").</summary>
    public static SelectionRule WorstClassAccuracy { get; } = new WorstClassAccuracyRule();

    /// <summary>Highest validation class-balanced accuracy, the mean recall over classes (reads no group label; SubpopBench's ValBalancedAcc).</summary>
    public static SelectionRule ClassBalancedAccuracy { get; } = new MetricRule("class-balanced accuracy", LabelBudget.None, r => r.ClassBalancedAccuracy, "a class with samples");

    /// <summary>Highest validation mean precision over classes (reads no group label; SubpopBench's ValMeanPrecision).</summary>
    public static SelectionRule MacroPrecision { get; } = new MetricRule("mean precision", LabelBudget.None, r => r.MacroPrecision, "a class with samples");

    /// <summary>Highest validation worst-class precision (reads no group label; SubpopBench's ValWorstPrecision).</summary>
    public static SelectionRule WorstClassPrecision { get; } = new MetricRule("worst-class precision", LabelBudget.None, r => r.WorstClassPrecision, "a class with samples");

    /// <summary>Highest validation mean F1 over classes (reads no group label; SubpopBench's ValMeanF1).</summary>
    public static SelectionRule MacroF1 { get; } = new MetricRule("mean F1", LabelBudget.None, r => r.MacroF1, "a class with samples");

    /// <summary>Highest validation worst-class F1 (reads no group label; SubpopBench's ValWorstF1).</summary>
    public static SelectionRule WorstClassF1 { get; } = new MetricRule("worst-class F1", LabelBudget.None, r => r.WorstClassF1, "a class with samples");

    /// <summary>
    /// Highest validation macro one-vs-rest AUROC (reads no group label; SubpopBench's ValAUROC). Needs the evaluator's
    /// probability metrics, which the ready loop and the recipes turn on for it (<see cref="EvaluatorOptions.ProbabilityMetrics"/>).
    /// </summary>
    public static SelectionRule Auroc { get; } = new MetricRule("AUROC", LabelBudget.None, r => r.Auroc, "the AUROC of the predicted probabilities (EvaluatorOptions.ProbabilityMetrics)", needsProbabilities: true);

    /// <summary>
    /// Lowest validation class difference, the sum of |acc_i - acc_j| over pairs of classes (BAM's "ClassDiff", Li et al.,
    /// 2023; SubpopBench's ValClassDiff): it reads the validation labels only, no group label. Scores are the negated difference.
    /// </summary>
    public static SelectionRule ClassDifference { get; } = new MetricRule("minimum class difference", LabelBudget.None, r => -r.ClassDifference, "a class with samples");

    /// <summary>Highest validation worst-attribute accuracy, each attribute value pooled over classes (reads validation group labels; SubpopBench's min_attr).</summary>
    public static SelectionRule WorstAttributeAccuracy { get; } = new MetricRule("worst-attribute accuracy", LabelBudget.ValidationGroupsForSelection, r => r.WorstAttributeAccuracy, "group labels");

    /// <summary>Worst-group accuracy when every result has group labels, else average accuracy (resolved on the first results, <see cref="Resolve"/>).</summary>
    public static SelectionRule Auto { get; } = new AutoRule();

    /// <summary>
    /// For the identification epoch T: the F1 of a phase-I model's validation mistakes as a detector of the minority
    /// groups, which are decided from the validation history itself (<see cref="IdentificationEpoch.MinorityGroupsFromValidation"/>).
    /// Reads validation group labels only. It compares epochs with each other, so it chooses among finished histories.
    /// </summary>
    public static SelectionRule ValidationErrorSet() => new ValidationErrorSetRule(null, LabelBudget.ValidationGroupsForSelection);

    /// <summary>
    /// The F1 rule of <see cref="ValidationErrorSet()"/> with the minority groups given (each epoch scored alone). Say
    /// which labels choosing them read: minority groups from the training split's counts (<c>OracleIdentifier.MinorityGroupsOf</c>)
    /// read training group labels (an oracle).
    /// </summary>
    /// <param name="minorityGroups">The minority group ids, at least one.</param>
    /// <param name="budget">The labels that chose <paramref name="minorityGroups"/> (at least validation groups).</param>
    /// <exception cref="ArgumentException">No minority group is given.</exception>
    /// <exception cref="ArgumentOutOfRangeException">A group id is negative, or the budget is not a defined value.</exception>
    public static SelectionRule ValidationErrorSet(IReadOnlyCollection<int> minorityGroups, LabelBudget budget)
    {
        ArgumentNullException.ThrowIfNull(minorityGroups);
        if (minorityGroups.Count == 0) throw new ArgumentException("At least one minority group is needed.", nameof(minorityGroups));
        if (minorityGroups.FirstOrDefault(g => g < 0, 0) is var negative and < 0)
            throw new ArgumentOutOfRangeException(nameof(minorityGroups), negative, "Group ids are >= 0.");
        if (!Enum.IsDefined(budget)) throw new ArgumentOutOfRangeException(nameof(budget), budget, "Not a defined label budget.");
        return new ValidationErrorSetRule(minorityGroups.ToArray(), (LabelBudget)Math.Max((int)budget, (int)LabelBudget.ValidationGroupsForSelection));
    }

    /// <summary>
    /// Always the given epoch (a fixed T, as in the JM1 paper's no-label protocol); reads no label. A finished history
    /// must contain it; <c>TrainingLoop</c> refuses a run shorter than it.
    /// </summary>
    /// <param name="epoch">The epoch to choose, ≥ 1 (epochs are numbered from 1).</param>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="epoch"/> is below 1.</exception>
    public static SelectionRule FixedEpoch(int epoch)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(epoch, 1);
        return new FixedEpochRule(epoch);
    }

    /// <summary>
    /// Whether every result the rule chooses from must carry group labels: the library's rules that read validation
    /// groups (worst-group accuracy, the validation error-set F1, the group-based metric rules; not <see cref="Auto"/>,
    /// which falls back to average accuracy without them). <c>TrainingLoop</c> refuses such a rule on a validation split
    /// without group labels before it trains. False for a rule written outside the library, which says itself what it
    /// cannot choose from (<see cref="CheckChoosable"/>).
    /// </summary>
    internal virtual bool ReadsValidationGroups => false;

    /// <summary>A short name for tables and logs, e.g. "worst-group accuracy".</summary>
    public abstract string Name { get; }

    /// <summary>The group labels the rule reads from validation (for group-based rules: the validation split's, unless its groups are inferred; see <see cref="BudgetOn"/>).</summary>
    public abstract LabelBudget LabelBudget { get; }

    /// <summary>
    /// Whether each epoch's score depends on that epoch alone (so a loop can keep the best weights as epochs arrive). A
    /// rule that compares epochs with each other chooses among finished histories only.
    /// </summary>
    public virtual bool ScoresEachEpochAlone => true;

    /// <summary>Whether the rule reads the metrics of predicted probabilities (AUROC), which an evaluator computes only when asked (<see cref="EvaluatorOptions.ProbabilityMetrics"/>).</summary>
    internal virtual bool NeedsProbabilities => false;

    /// <summary>The evaluator options a selection by this rule needs: <paramref name="options"/>, with probability metrics turned on when the rule reads them.</summary>
    internal EvaluatorOptions? EvaluatorFor(EvaluatorOptions? options)
        => NeedsProbabilities && options?.ProbabilityMetrics != true ? (options ?? new EvaluatorOptions()) with { ProbabilityMetrics = true } : options;

    /// <summary>The score of every epoch of <paramref name="history"/> (higher is better).</summary>
    /// <param name="history">Per-epoch validation results, in training order, at least one.</param>
    /// <exception cref="ArgumentException">The history is empty, or a result lacks what the rule reads (group labels).</exception>
    public abstract double[] Scores(IReadOnlyList<EpochResult> history);

    /// <summary>The rule this one stands for on <paramref name="history"/>: itself, except for <see cref="Auto"/>.</summary>
    public virtual SelectionRule Resolve(IReadOnlyList<EpochResult> history) => this;

    /// <summary>
    /// The standard error of <paramref name="result"/>'s score under this rule, where the score is an accuracy over a
    /// known number of samples (the binomial sqrt(p (1 - p) / n)): the worst group's for the worst-group rule, the whole
    /// split's for average accuracy; null for a rule whose score has no such count. The recipes' one-standard-error rule
    /// reads it (a search keeps a method over ERM only when it is better by more than this).
    /// </summary>
    internal virtual double? StandardError(EvaluationResult result) => null;

    /// <summary>The binomial standard error sqrt(p (1 - p) / n) of an accuracy of <paramref name="correct"/> out of <paramref name="count"/> (null for none).</summary>
    private protected static double? BinomialStandardError(long correct, long count)
    {
        if (count <= 0) return null;
        double p = (double)correct / count;
        return Math.Sqrt(p * (1 - p) / count);
    }

    /// <summary>The first epoch with the highest score.</summary>
    /// <param name="history">Per-epoch validation results, in training order, at least one.</param>
    /// <exception cref="ArgumentException">The history is empty, or a result lacks what the rule reads.</exception>
    public EpochResult Best(IReadOnlyList<EpochResult> history) => history[BestIndex(history)];

    /// <summary>The score of <see cref="BestIndex"/>'s epoch, under the rule this one resolves to on <paramref name="history"/> (runs compare by it).</summary>
    internal double BestScore(IReadOnlyList<EpochResult> history)
    {
        var rule = Resolve(history);
        return rule.Scores(history)[rule.BestIndex(history)];
    }

    /// <summary>The index of the first epoch with the highest score (a NaN score never wins over a number).</summary>
    /// <exception cref="ArgumentException">The history is empty, or a result lacks what the rule reads.</exception>
    public int BestIndex(IReadOnlyList<EpochResult> history)
    {
        ArgumentNullException.ThrowIfNull(history);
        if (history.Count == 0) throw new ArgumentException("The history is empty; evaluate at least one epoch.", nameof(history));
        var rule = Resolve(history);
        rule.CheckChoosable(history);
        var scores = rule.Scores(history);
        int best = 0;
        for (int i = 1; i < scores.Length; i++)
            if (scores[i] > scores[best] || (double.IsNaN(scores[best]) && !double.IsNaN(scores[i]))) best = i;
        return best;
    }

    /// <summary>
    /// The labels the rule reads when it selects on <paramref name="validation"/>: a group-based rule on a split whose
    /// groups were inferred (a <see cref="RegroupedView"/> marked inferred, e.g. XRM's validation groups) reads none.
    /// </summary>
    /// <param name="validation">The split the results were measured on.</param>
    public LabelBudget BudgetOn(IGroupDataset validation)
    {
        ArgumentNullException.ThrowIfNull(validation);
        return validation is RegroupedView { Inferred: true } && LabelBudget == LabelBudget.ValidationGroupsForSelection ? LabelBudget.None : LabelBudget;
    }

    /// <inheritdoc />
    public override string ToString() => Name;

    /// <summary>
    /// Checks, before a run of <paramref name="epochs"/> epochs starts, that the rule can choose among them (a fixed epoch
    /// must lie within the run); the default accepts any length.
    /// </summary>
    /// <param name="epochs">The run's number of epochs.</param>
    /// <param name="paramName">The argument to name.</param>
    /// <exception cref="ArgumentOutOfRangeException">The rule needs more epochs.</exception>
    internal virtual void EnsureFits(int epochs, string paramName)
    {
    }

    /// <summary>
    /// Checks that a finished <paramref name="history"/> holds what the rule must choose from (called by
    /// <see cref="BestIndex"/>, not per epoch); the default accepts any history.
    /// </summary>
    /// <exception cref="ArgumentException">The history cannot be chosen from.</exception>
    protected virtual void CheckChoosable(IReadOnlyList<EpochResult> history)
    {
    }

    /// <summary>Checks that every result of <paramref name="history"/> has group labels.</summary>
    /// <exception cref="ArgumentException">A result has none.</exception>
    protected void RequireGroups(IReadOnlyList<EpochResult> history)
    {
        ArgumentNullException.ThrowIfNull(history);
        if (history.Any(e => e.Result.WorstGroupAccuracy is null))
            throw new ArgumentException($"Selection by {Name} needs group labels on every validation result.", nameof(history));
    }
}
