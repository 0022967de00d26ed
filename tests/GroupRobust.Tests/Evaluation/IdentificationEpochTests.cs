using GroupRobust.Evaluation;
using GroupRobust.Tests.Identification;

namespace GroupRobust.Tests.Evaluation;

public class IdentificationEpochTests
{
    [Fact]
    public void Epoch_choice_by_worst_group_or_average_and_logged()
    {
        static EvaluationResult R(long correct, long? worstCorrect) => new()
        {
            Groups = worstCorrect is long w ? [new GroupAccuracy(0, "g0", 10, w), new GroupAccuracy(1, "g1", 10, 10)] : [],
            Classes = [new ClassAccuracy(0, "c", 20, correct)],
            Count = 20, Correct = correct, WorstGroup = worstCorrect is null ? null : 0,
        };
        var logger = new ListLogger();
        var choice = IdentificationEpoch.Choose([new(1, R(18, 5)), new(2, R(17, 7)), new(3, R(19, 7))], SelectionRule.Auto, logger);
        Assert.Equal(2, choice.Epoch);
        Assert.Same(SelectionRule.WorstGroupAccuracy, choice.Rule);
        Assert.Contains(logger.Messages, m => m.Contains("T = 2"));
        var groupFree = IdentificationEpoch.Choose([new(1, R(18, null)), new(2, R(19, null)), new(3, R(19, null))], SelectionRule.Auto);
        Assert.Equal(2, groupFree.Epoch);
        Assert.Contains("average accuracy", groupFree.Reason);
        Assert.Same(SelectionRule.AverageAccuracy, groupFree.Rule);
    }

    [Fact]
    public void Epoch_choice_by_validation_error_set_f1()
    {
        static EvaluationResult R(long g0Correct, long g1Correct) => new()
        {
            // group 0 majority (100 samples), group 1 minority (20 samples)
            Groups = [new GroupAccuracy(0, "g0", 100, g0Correct), new GroupAccuracy(1, "g1", 20, g1Correct)],
            Classes = [new ClassAccuracy(0, "c", 120, g0Correct + g1Correct)],
            Count = 120, Correct = g0Correct + g1Correct, WorstGroup = 1,
        };
        // epoch 1: 16 minority errors, 4 majority errors -> P 0.8, R 0.8, F1 0.8
        // epoch 2: 4 minority errors, 0 majority errors -> P 1, R 0.2, F1 1/3 (but a better worst-group accuracy)
        var history = new List<EpochResult> { new(1, R(96, 4)), new(2, R(100, 16)) };
        Assert.Equal(0.8, IdentificationEpoch.ValidationErrorSetF1(history[0].Result, [1]), 12);
        Assert.Equal(1.0 / 3, IdentificationEpoch.ValidationErrorSetF1(history[1].Result, [1]), 12);
        var choice = IdentificationEpoch.Choose(history, SelectionRule.ValidationErrorSet([1], GroupRobust.Groups.LabelBudget.ValidationGroupsForSelection));
        Assert.Equal(1, choice.Epoch);
        Assert.Contains("error-set F1", choice.Rule.Name);
        Assert.Equal(2, IdentificationEpoch.Choose(history, SelectionRule.WorstGroupAccuracy).Epoch);
        Assert.Equal(0, IdentificationEpoch.ValidationErrorSetF1(R(100, 20), [1]));
        Assert.Throws<ArgumentException>(() => IdentificationEpoch.Choose(history, SelectionRule.ValidationErrorSet([5], GroupRobust.Groups.LabelBudget.ValidationGroupsForSelection)));
    }

    /// <summary>A class-0 result with groups 0, 1 (class 0) and 2, 3 (class 1) of 50 samples each.</summary>
    private static EvaluationResult Groups(params long[] correct) => new()
    {
        Groups = correct.Select((c, g) => new GroupAccuracy(g, $"g{g}", 50, c)).ToArray(),
        Classes = [new ClassAccuracy(0, "c0", 100, correct[0] + correct[1]), new ClassAccuracy(1, "c1", 100, correct[2] + correct[3])],
        Count = 200, Correct = correct.Sum(), WorstGroup = Array.IndexOf(correct, correct.Min()),
        WorstClass = correct[0] + correct[1] <= correct[2] + correct[3] ? 0 : 1,
    };

    [Fact]
    public void Minority_groups_from_validation_alone_work_on_a_balanced_validation_set()
    {
        // balanced validation (50 per group): the training-count rule has nothing to go on, the phase-I models' mistakes do
        var history = new List<EpochResult> { new(1, Groups(48, 20, 25, 49)), new(2, Groups(49, 30, 35, 50)) };
        Assert.Equal(new[] { 1, 2 }, IdentificationEpoch.MinorityGroupsFromValidation(history));
        var choice = IdentificationEpoch.Choose(history);   // the default rule: validation error-set F1, minority groups from validation
        Assert.Equal("validation error-set F1", choice.Rule.Name);
        Assert.Equal(1, choice.Epoch); // more minority errors, few majority errors: the better error set
        Assert.Empty(IdentificationEpoch.MinorityGroupsFromValidation([new(1, Groups(40, 40, 40, 40))]));
        Assert.Contains("no group below another", Assert.Throws<ArgumentException>(() => IdentificationEpoch.Choose([new(1, Groups(40, 40, 40, 40))])).Message);
        var noGroups = new EvaluationResult { Groups = [], Classes = [new ClassAccuracy(0, "c0", 10, 5)], Count = 10, Correct = 5 };
        Assert.Contains("group labels", Assert.Throws<ArgumentException>(() => IdentificationEpoch.MinorityGroupsFromValidation([new(1, noGroups)])).Message);
    }

    [Fact]
    public void Jtt_protocol_chooses_T_and_the_phase_two_epoch_jointly()
    {
        var byT = new Dictionary<int, IReadOnlyList<EpochResult>>
        {
            [1] = [new(1, Groups(45, 30, 30, 45)), new(2, Groups(45, 40, 41, 45))],
            [2] = [new(1, Groups(45, 42, 44, 45)), new(2, Groups(45, 35, 35, 45))],
            [3] = [new(1, Groups(45, 42, 43, 45))],
        };
        var (t, phase2, score) = IdentificationEpoch.ChooseJointly(byT);
        Assert.Equal(2, t);
        Assert.Equal(1, phase2.Epoch);
        Assert.Equal(42 / 50.0, score, 12);
        Assert.Throws<ArgumentException>(() => IdentificationEpoch.ChooseJointly(new Dictionary<int, IReadOnlyList<EpochResult>>()));
    }

    [Fact]
    public void Selection_rules_state_their_label_budget()
    {
        Assert.Equal(GroupRobust.Groups.LabelBudget.ValidationGroupsForSelection, SelectionRule.WorstGroupAccuracy.LabelBudget);
        Assert.Equal(GroupRobust.Groups.LabelBudget.ValidationGroupsForSelection, SelectionRule.ValidationErrorSet().LabelBudget);
        Assert.Equal(GroupRobust.Groups.LabelBudget.TrainingGroups, SelectionRule.ValidationErrorSet([1], GroupRobust.Groups.LabelBudget.TrainingGroups).LabelBudget);
        Assert.Equal(GroupRobust.Groups.LabelBudget.None, SelectionRule.AverageAccuracy.LabelBudget);
        Assert.Equal(GroupRobust.Groups.LabelBudget.None, SelectionRule.WorstClassAccuracy.LabelBudget);
        var history = new List<EpochResult> { new(1, Groups(50, 10, 40, 40)), new(2, Groups(40, 30, 20, 40)) };
        // worst class: 60 (epoch 1: classes 60 / 80) vs 60 (epoch 2: 70 / 60), the first epoch wins the tie
        Assert.Equal(1, SelectionRule.WorstClassAccuracy.Best(history).Epoch);
        Assert.Equal(2, SelectionRule.WorstGroupAccuracy.Best(history).Epoch);
    }
}
