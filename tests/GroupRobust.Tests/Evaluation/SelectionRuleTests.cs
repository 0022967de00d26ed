using GroupRobust.Evaluation;

namespace GroupRobust.Tests.Evaluation;

public class SelectionRuleTests
{
    private static EvaluationResult Result(long correct, long count, double? worst)
    {
        var groups = worst is double w
            ? new[] { new GroupAccuracy(0, "g0", 100, (long)Math.Round(w * 100)), new GroupAccuracy(1, "g1", 100, 100) }
            : [];
        return new EvaluationResult
        {
            Groups = groups,
            Classes = [new ClassAccuracy(0, "c0", count, correct)],
            Count = count,
            Correct = correct,
            WorstGroup = worst is null ? null : 0,
        };
    }

    [Fact]
    public void Picks_highest_worst_group_first_epoch_on_ties()
    {
        var history = new[]
        {
            new EpochResult(0, Result(90, 100, 0.50)),
            new EpochResult(1, Result(80, 100, 0.70)),
            new EpochResult(2, Result(95, 100, 0.70)),
            new EpochResult(3, Result(99, 100, 0.60)),
        };
        Assert.Equal(1, SelectionRule.Auto.Best(history).Epoch);
        Assert.Equal(1, SelectionRule.WorstGroupAccuracy.Best(history).Epoch);
        Assert.Equal(3, SelectionRule.AverageAccuracy.Best(history).Epoch);
    }

    [Fact]
    public void Without_group_labels_auto_selects_by_average()
    {
        var history = new[] { new EpochResult(0, Result(90, 100, null)), new EpochResult(1, Result(92, 100, null)) };
        Assert.Equal(1, SelectionRule.Auto.Best(history).Epoch);
        Assert.Same(SelectionRule.AverageAccuracy, SelectionRule.Auto.Resolve(history));
        Assert.Contains("group labels", Assert.Throws<ArgumentException>(() => SelectionRule.WorstGroupAccuracy.Best(history)).Message);
        Assert.Throws<ArgumentException>(() => SelectionRule.AverageAccuracy.Best([]));
    }

    [Fact]
    public void A_fixed_epoch_rule_picks_its_epoch_and_reads_no_label()
    {
        var history = new[] { new EpochResult(1, Result(90, 100, 0.9)), new EpochResult(2, Result(50, 100, 0.1)) };
        Assert.Equal(2, SelectionRule.FixedEpoch(2).Best(history).Epoch);
        Assert.Equal(GroupRobust.Groups.LabelBudget.None, SelectionRule.FixedEpoch(2).LabelBudget);
        Assert.Contains("no epoch 3", Assert.Throws<ArgumentException>(() => SelectionRule.FixedEpoch(3).Best(history)).Message);
        Assert.Equal("epoch", Assert.Throws<ArgumentOutOfRangeException>(() => SelectionRule.FixedEpoch(0)).ParamName);
        Assert.Equal("minorityGroups", Assert.Throws<ArgumentOutOfRangeException>(() => SelectionRule.ValidationErrorSet([1, -2], GroupRobust.Groups.LabelBudget.ValidationGroupsForSelection)).ParamName);
        Assert.Equal("budget", Assert.Throws<ArgumentOutOfRangeException>(() => SelectionRule.ValidationErrorSet([1], (GroupRobust.Groups.LabelBudget)42)).ParamName);
    }

    [Fact]
    public void A_nan_score_never_wins()
    {
        var history = new[] { new EpochResult(1, Result(90, 100, 0.5)), new EpochResult(2, Result(95, 100, 0.6)) };
        Assert.Equal(2, new Nan().Best(history).Epoch);
    }

    /// <summary>A rule of one's own: one class (NaN for the first epoch).</summary>
    private sealed class Nan : SelectionRule
    {
        public override string Name => "nan first";

        public override GroupRobust.Groups.LabelBudget LabelBudget => GroupRobust.Groups.LabelBudget.None;

        public override double[] Scores(IReadOnlyList<EpochResult> history) => history.Select((e, i) => i == 0 ? double.NaN : e.Result.AverageAccuracy).ToArray();
    }

    [Fact]
    public void Selector_reports_new_bests_only_when_strictly_better()
    {
        var s = new ModelSelector();
        Assert.True(s.Add(1, Result(90, 100, 0.5)));
        Assert.False(s.Add(2, Result(99, 100, 0.5)));
        Assert.True(s.Add(3, Result(80, 100, 0.6)));
        Assert.Equal(3, s.Best!.Epoch);
        Assert.Equal("epoch", Assert.Throws<ArgumentOutOfRangeException>(() => s.Add(0, Result(80, 100, 0.6))).ParamName);
        Assert.Equal(3, s.History.Count);
        Assert.Same(SelectionRule.WorstGroupAccuracy, s.Rule);
        Assert.Equal(3, s.History.Count);
        // a rule that compares epochs with each other cannot keep the best weights as epochs arrive
        Assert.Equal("rule", Assert.Throws<ArgumentException>(() => new ModelSelector(SelectionRule.ValidationErrorSet())).ParamName);
        var f1 = new ModelSelector(SelectionRule.ValidationErrorSet([0], GroupRobust.Groups.LabelBudget.ValidationGroupsForSelection));
        Assert.True(f1.Add(1, Result(90, 100, 0.5)));
    }
}

public class SubpopBenchSelectionRuleTests
{
    private static EvaluationResult Result((long Count, long Correct, long Predicted)[] classes, (long Count, long Correct)[]? groups = null, double? auroc = null) => new()
    {
        Classes = classes.Select((c, i) => new ClassAccuracy(i, $"c{i}", c.Count, c.Correct) { Predicted = c.Predicted }).ToArray(),
        Groups = groups?.Select((g, i) => new GroupAccuracy(i, $"g{i}", g.Count, g.Correct)).ToArray() ?? [],
        Count = classes.Sum(c => c.Count),
        Correct = classes.Sum(c => c.Correct),
        WorstGroup = groups is null ? null : 0,
        NumAttributes = 2,
        Auroc = auroc,
    };

    [Fact]
    public void Each_rule_picks_the_epoch_its_metric_prefers_and_says_which_labels_it_reads()
    {
        var history = new[]
        {
            // epoch 1: accurate on class 0 only; epoch 2: both classes at 80%; epoch 3: 85% and 90%, spread evenly over attributes
            new EpochResult(1, Result([(100, 99, 149), (50, 0, 1)], [(60, 60), (40, 39), (30, 0), (20, 0)], auroc: 0.9)),
            new EpochResult(2, Result([(100, 80, 90), (50, 40, 60)], [(60, 50), (40, 30), (30, 25), (20, 15)], auroc: 0.8)),
            new EpochResult(3, Result([(100, 85, 90), (50, 45, 60)], [(60, 50), (40, 35), (30, 25), (20, 20)], auroc: 0.95)),
        };
        Assert.Equal(3, SelectionRule.ClassBalancedAccuracy.Best(history).Epoch);     // (0.85 + 0.9) / 2
        Assert.Equal(2, SelectionRule.ClassDifference.Best(history).Epoch);           // |0.8 - 0.8| = 0
        Assert.Equal(3, SelectionRule.Auroc.Best(history).Epoch);
        Assert.Equal(3, SelectionRule.MacroPrecision.Best(history).Epoch);            // (85/90 + 45/60) / 2
        Assert.Equal(3, SelectionRule.WorstClassPrecision.Best(history).Epoch);       // min(85/90, 45/60) = 0.75
        Assert.Equal(3, SelectionRule.WorstAttributeAccuracy.Best(history).Epoch);    // min(75/90, 55/60) against 0.75 and 0.65
        Assert.Equal(2, SelectionRule.WorstAttributeAccuracy.Best(history[..2]).Epoch);
        Assert.All(new[] { SelectionRule.ClassBalancedAccuracy, SelectionRule.MacroPrecision, SelectionRule.WorstClassPrecision, SelectionRule.MacroF1, SelectionRule.WorstClassF1, SelectionRule.Auroc, SelectionRule.ClassDifference },
            rule => Assert.Equal(GroupRobust.Groups.LabelBudget.None, rule.LabelBudget));
        Assert.Equal(GroupRobust.Groups.LabelBudget.ValidationGroupsForSelection, SelectionRule.WorstAttributeAccuracy.LabelBudget);
    }

    [Fact]
    public void A_rule_whose_metric_is_missing_names_what_it_needs()
    {
        var history = new[] { new EpochResult(1, Result([(10, 5, 5), (10, 5, 15)])) };
        var ex = Assert.Throws<ArgumentException>(() => SelectionRule.Auroc.Best(history));
        Assert.Contains("ProbabilityMetrics", ex.Message);
        ex = Assert.Throws<ArgumentException>(() => SelectionRule.WorstAttributeAccuracy.Best(history));
        Assert.Contains("group labels", ex.Message);
    }

    [Fact]
    public void The_standard_error_of_a_selection_score_is_the_binomial_one_of_what_it_counts()
    {
        var result = new EvaluationResult
        {
            Groups = [new GroupAccuracy(0, "a", 50, 40), new GroupAccuracy(1, "b", 25, 10), new GroupAccuracy(2, "empty", 0, 0)],
            Classes = [], Count = 75, Correct = 50, WorstGroup = 1,
        };
        Assert.Equal(Math.Sqrt(0.4 * 0.6 / 25), SelectionRule.WorstGroupAccuracy.StandardError(result)!.Value, 12);   // the worst group's
        Assert.Equal(Math.Sqrt(50.0 / 75 * (25.0 / 75) / 75), SelectionRule.AverageAccuracy.StandardError(result)!.Value, 12);   // the whole split's
        Assert.Null(SelectionRule.WorstGroupAccuracy.StandardError(result with { WorstGroup = null }));   // no groups
        Assert.Equal(0, SelectionRule.WorstGroupAccuracy.StandardError(result with { Groups = [new GroupAccuracy(0, "a", 50, 50), result.Groups[1]], WorstGroup = 0 })!.Value);
        Assert.Null(SelectionRule.WorstClassAccuracy.StandardError(result));   // a rule without a count: the comparison is strict
    }
}
