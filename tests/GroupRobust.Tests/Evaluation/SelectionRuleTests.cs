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
