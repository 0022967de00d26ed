using GroupRobust.Evaluation;

namespace GroupRobust.Tests.Evaluation;

public class ModelSelectionTests
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
        Assert.Equal(1, ModelSelection.BestEpoch(history).Epoch);
        Assert.Equal(3, ModelSelection.BestEpoch(history, SelectionCriterion.AverageAccuracy).Epoch);
    }

    [Fact]
    public void Without_group_labels_auto_selects_by_average()
    {
        var history = new[] { new EpochResult(0, Result(90, 100, null)), new EpochResult(1, Result(92, 100, null)) };
        Assert.Equal(1, ModelSelection.BestEpoch(history).Epoch);
        Assert.Throws<ArgumentException>(() => ModelSelection.BestEpoch(history, SelectionCriterion.WorstGroupAccuracy));
        Assert.Throws<ArgumentException>(() => ModelSelection.BestEpoch([]));
    }

    [Fact]
    public void Selector_reports_new_bests_only_when_strictly_better()
    {
        var s = new ModelSelector();
        Assert.True(s.Add(0, Result(90, 100, 0.5)));
        Assert.False(s.Add(1, Result(99, 100, 0.5)));
        Assert.True(s.Add(2, Result(80, 100, 0.6)));
        Assert.Equal(2, s.Best!.Epoch);
        Assert.Equal(SelectionCriterion.WorstGroupAccuracy, s.Criterion);
        Assert.Equal(3, s.History.Count);
    }
}
