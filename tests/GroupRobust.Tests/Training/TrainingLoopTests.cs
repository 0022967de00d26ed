using GroupRobust.Data;
using GroupRobust.Evaluation;
using GroupRobust.Identification;
using GroupRobust.Methods;
using GroupRobust.Randomness;
using GroupRobust.Tests.Methods;
using GroupRobust.Tests.TestSupport;
using GroupRobust.Training;
using TorchSharp;

namespace GroupRobust.Tests.Training;

public class TrainingLoopTests
{
    private sealed class Crash(int afterEpoch) : IProgress<EpochReport>
    {
        public List<EpochReport> Seen { get; } = [];

        public void Report(EpochReport value)
        {
            Seen.Add(value);
            if (value.Epoch == afterEpoch) throw new IOException("simulated crash");
        }
    }

    [Theory]
    [InlineData("jm1:random")]
    [InlineData("groupdro")]
    [InlineData("jtt")]
    public void A_killed_run_resumed_from_its_checkpoint_equals_the_uninterrupted_run(string kind)
    {
        using var data = MethodFactory.Data();
        using var dir = new TempDirectory();
        var options = new TrainingLoopOptions { Epochs = 4, BatchSize = 32, Evaluator = new EvaluatorOptions { BootstrapSamples = 0 } };

        using var whole = MethodFactory.Model(1);
        TrainingHistory expected;
        using (var method = MethodFactory.Make(kind, data, new SeedSource(2)))
        using (var opt = torch.optim.Adam(whole.parameters(), 0.01))
            expected = TrainingLoop.Run(method, whole, opt, data.Train, data.Validation, options);

        var withCheckpoint = options with { CheckpointPath = dir.File("run.ckpt") };
        using (var first = MethodFactory.Model(1))
        using (var method = MethodFactory.Make(kind, data, new SeedSource(2)))
        using (var opt = torch.optim.Adam(first.parameters(), 0.01))
            Assert.Throws<IOException>(() => TrainingLoop.Run(method, first, opt, data.Train, data.Validation, withCheckpoint, new Crash(2)));

        using var resumed = MethodFactory.Model(5);
        TrainingHistory actual;
        var progress = new Crash(-1);
        using (var method = MethodFactory.Make(kind, data, new SeedSource(3)))
        using (var opt = torch.optim.Adam(resumed.parameters(), 0.01))
            actual = TrainingLoop.Run(method, resumed, opt, data.Train, data.Validation, withCheckpoint, progress);

        Assert.Equal([3, 4], progress.Seen.Select(r => r.Epoch));
        Assert.Equal(expected.Epochs.Select(e => e.Validation.ToJson()), actual.Epochs.Select(e => e.Validation.ToJson()));
        Assert.Equal(expected.Epochs.Select(e => e.TrainLoss), actual.Epochs.Select(e => e.TrainLoss));
        Assert.Equal(expected.Best.Epoch, actual.Best.Epoch);
        foreach (var ((name, a), (_, b)) in whole.named_parameters().Zip(resumed.named_parameters()))
            Assert.True(a.allclose(b, 0, 0), $"{kind}: parameter {name} differs (best weights restored in both)");
        Assert.Empty(Directory.GetFiles(dir.Path, ".*tmp*"));
    }

    [Fact]
    public void The_best_epoch_is_selected_restored_and_reported()
    {
        using var data = MethodFactory.Data();
        using var model = MethodFactory.Model(0);
        using var method = MethodFactory.Make("erm", data, new SeedSource(0));
        using var opt = torch.optim.SGD(model.parameters(), 0.2);
        var reports = new List<EpochReport>();
        var history = TrainingLoop.Run(method, model, opt, data.Train, data.Validation,
            new TrainingLoopOptions { Epochs = 5, BatchSize = 32, Evaluator = new EvaluatorOptions { BootstrapSamples = 0 }, OracleReference = data.Test }, new Sync(reports));
        Assert.Equal(5, reports.Count);
        Assert.Same(SelectionRule.WorstGroupAccuracy, history.Selection);
        var best = SelectionRule.WorstGroupAccuracy.Best(history.ValidationHistory);
        Assert.Equal(best.Epoch, history.Best.Epoch);
        using var evaluator = new WorstGroupEvaluator(data.Scheme, new EvaluatorOptions { BootstrapSamples = 0 });
        Assert.Equal(history.Best.Validation.ToJson(), evaluator.Evaluate(model, data.Validation).ToJson());
        Assert.All(history.Epochs, e => Assert.True(double.IsFinite(e.TrainLoss)));
        Assert.Equal(300, history.Epochs[0].Method.Samples);
        Assert.Equal(GroupRobust.Groups.LabelBudget.ValidationGroupsForSelection, history.LabelBudget);
        // the oracle reference is reported per epoch and never used for selection
        Assert.All(history.Epochs, e => Assert.NotNull(e.OracleReference));
        var oracleBest = SelectionRule.Auto.Best(history.Epochs.Select(e => new EpochResult(e.Epoch, e.OracleReference!)).ToArray());
        Assert.Equal(oracleBest.Epoch, history.OracleBest!.Epoch);
        using var averaged = MethodFactory.Make("erm", data, new SeedSource(0));
        using var fresh = MethodFactory.Model(0);
        using var opt2 = torch.optim.SGD(fresh.parameters(), 0.2);
        var noGroups = TrainingLoop.Run(averaged, fresh, opt2, data.Train, data.Validation,
            new TrainingLoopOptions { Epochs = 2, BatchSize = 32, Selection = SelectionRule.WorstClassAccuracy, Evaluator = new EvaluatorOptions { BootstrapSamples = 0 } });
        Assert.Equal(GroupRobust.Groups.LabelBudget.None, noGroups.LabelBudget);
        Assert.Null(noGroups.OracleBest);
    }

    [Fact]
    public void Selection_by_auroc_turns_on_the_probability_metrics_and_reads_no_group_label()
    {
        using var data = MethodFactory.Data();
        using var model = MethodFactory.Model(0);
        using var method = MethodFactory.Make("erm", data, new SeedSource(0));
        using var opt = torch.optim.SGD(model.parameters(), 0.2);
        var history = TrainingLoop.Run(method, model, opt, data.Train, data.Validation,
            new TrainingLoopOptions { Epochs = 3, BatchSize = 32, Selection = SelectionRule.Auroc, Evaluator = new EvaluatorOptions { BootstrapSamples = 0 } });
        Assert.All(history.ValidationHistory, e => Assert.InRange(e.Result.Auroc!.Value, 0, 1));
        Assert.Equal(SelectionRule.Auroc.Best(history.ValidationHistory).Epoch, history.Best.Epoch);
        Assert.Equal(GroupRobust.Groups.LabelBudget.None, history.LabelBudget);
    }

    [Fact]
    public void The_oracle_reference_keeps_its_true_groups_when_validation_groups_are_inferred_with_another_scheme()
    {
        // XRM-like inferred validation groups, three per class, beside a reference split with its two true groups per class
        using var data = MethodFactory.Data();
        var labels = data.Validation.Labels.Span;
        var values = Enumerable.Range(0, data.Validation.Count).Select(i => i % 3).ToArray();
        var inferred = GroupAssignment.FromInferred(values, labels, 2, 3, [1, 2, 4, 5], "test-inferred");
        using var validation = inferred.ApplyTo(data.Validation);
        Assert.NotEqual(data.Test.Scheme, validation.Scheme);
        using var model = MethodFactory.Model(0);
        using var method = MethodFactory.Make("erm", data, new SeedSource(0));
        using var opt = torch.optim.SGD(model.parameters(), 0.2);
        var history = TrainingLoop.Run(method, model, opt, data.Train, validation,
            new TrainingLoopOptions { Epochs = 2, BatchSize = 32, EvaluationBatchSize = 64, Evaluator = new EvaluatorOptions { BootstrapSamples = 0 }, OracleReference = data.Test });
        Assert.All(history.Epochs, e => Assert.Equal(6, e.Validation.Groups.Count));
        Assert.All(history.Epochs, e => Assert.Equal(4, e.OracleReference!.Groups.Count));
        // the reference's numbers are the true-group evaluator's, adjusted average included (the model is the selected epoch's)
        using var evaluator = new WorstGroupEvaluator(data.Test.Scheme, new EvaluatorOptions { BootstrapSamples = 0 });
        var atBest = history.Epochs.Single(e => e.Epoch == history.Best.Epoch).OracleReference!;
        Assert.Equal(evaluator.Evaluate(model, data.Test, 64, trainGroupCounts: GroupCounts.Of(data.Train)).ToJson(), atBest.ToJson());
        Assert.NotNull(atBest.AdjustedAverageAccuracy);
    }

    [Fact]
    public void Prefetching_batches_changes_no_number()
    {
        using var data = MethodFactory.Data(100);
        TrainingHistory Run(bool prefetch, out float[] weights)
        {
            using var model = MethodFactory.Model(3);
            using var method = MethodFactory.Make("jm1:hidden", data, new SeedSource(4));
            using var opt = torch.optim.SGD(model.parameters(), 0.2);
            var history = TrainingLoop.Run(method, model, opt, data.Train, data.Validation, new TrainingLoopOptions { Epochs = 3, BatchSize = 16, PrefetchBatches = prefetch });
            weights = model.parameters().SelectMany(p => p.data<float>().ToArray()).ToArray();
            return history;
        }
        var plain = Run(false, out var a);
        var prefetched = Run(true, out var b);
        Assert.Equal(a, b);
        Assert.Equal(plain.Best.Epoch, prefetched.Best.Epoch);
    }

    [Fact]
    public void Bad_options_are_rejected_with_the_option_named()
    {
        using var data = MethodFactory.Data(100);
        using var model = MethodFactory.Model(0);
        using var method = MethodFactory.Make("erm", data, new SeedSource(0));
        using var opt = torch.optim.SGD(model.parameters(), 0.2);
        TrainingHistory Run(TrainingLoopOptions o) => TrainingLoop.Run(method, model, opt, data.Train, data.Validation, o);
        Assert.Equal("Epochs", Assert.Throws<ArgumentOutOfRangeException>(() => Run(new TrainingLoopOptions { Epochs = 0 })).ParamName);
        Assert.Equal("BatchSize", Assert.Throws<ArgumentOutOfRangeException>(() => Run(new TrainingLoopOptions { BatchSize = 0 })).ParamName);
        Assert.Equal("Selection", Assert.Throws<ArgumentException>(() => Run(new TrainingLoopOptions { Selection = SelectionRule.ValidationErrorSet() })).ParamName);
        Assert.Equal("CheckpointPath", Assert.Throws<ArgumentException>(() => Run(new TrainingLoopOptions { CheckpointPath = "" })).ParamName);
        Assert.Equal("BestWeightsPath", Assert.Throws<ArgumentException>(() => Run(new TrainingLoopOptions { BestWeightsPath = "" })).ParamName);
        Assert.Equal("options", Assert.Throws<ArgumentOutOfRangeException>(() => Run(new TrainingLoopOptions { Epochs = 2, Selection = SelectionRule.FixedEpoch(3) })).ParamName);
        // a rule that reads validation groups, on a validation split without them: refused before the first epoch, not after it
        var reports = new List<EpochReport>();
        var ungrouped = data.Validation.WithoutGroupLabels();
        var e = Assert.Throws<ArgumentException>(() => TrainingLoop.Run(method, model, opt, data.Train, ungrouped, new TrainingLoopOptions { Epochs = 1, Selection = SelectionRule.WorstGroupAccuracy }, new Sync(reports)));
        Assert.Equal("options", e.ParamName);
        Assert.Contains("worst-group accuracy, reads validation group labels, and the validation split has none", e.Message);
        Assert.Empty(reports);
        Assert.Single(TrainingLoop.Run(method, model, opt, data.Train, ungrouped, new TrainingLoopOptions { Epochs = 1 }, new Sync(reports)).Epochs);   // Auto: average accuracy
        Assert.Single(Run(new TrainingLoopOptions { Epochs = 1 }).Epochs);   // the refusals began no epoch
    }

    [Fact]
    public void A_fixed_epoch_rule_keeps_that_epochs_weights()
    {
        using var data = MethodFactory.Data(100);
        using var model = MethodFactory.Model(0);
        using var method = MethodFactory.Make("erm", data, new SeedSource(0));
        using var opt = torch.optim.SGD(model.parameters(), 0.2);
        var history = TrainingLoop.Run(method, model, opt, data.Train, data.Validation,
            new TrainingLoopOptions { Epochs = 3, BatchSize = 32, Selection = SelectionRule.FixedEpoch(2), Evaluator = new EvaluatorOptions { BootstrapSamples = 0 } });
        Assert.Equal(2, history.Best.Epoch);
        Assert.Equal(GroupRobust.Groups.LabelBudget.None, history.LabelBudget);
        using var evaluator = new WorstGroupEvaluator(data.Scheme, new EvaluatorOptions { BootstrapSamples = 0 });
        Assert.Equal(history.Best.Validation.ToJson(), evaluator.Evaluate(model, data.Validation).ToJson());
    }

    private sealed class Sync(List<EpochReport> into) : IProgress<EpochReport>
    {
        public void Report(EpochReport value) => into.Add(value);
    }

    [Fact]
    public void Resuming_from_a_checkpoint_the_loop_did_not_write_changes_nothing()
    {
        using var data = MethodFactory.Data(100);
        using var dir = new TempDirectory();
        using (var other = MethodFactory.Model(9))
            GroupRobust.Checkpoints.TrainingCheckpoint.Save(dir.File("foreign.ckpt"), other, null, new GroupRobust.Checkpoints.CheckpointState { Epoch = 3 });
        using var model = MethodFactory.Model(1);
        var before = model.parameters().Select(p => p.data<float>().ToArray()).ToArray();
        using var method = MethodFactory.Make("erm", data, new SeedSource(0));
        using var opt = torch.optim.SGD(model.parameters(), 0.1);
        var ex = Assert.Throws<FormatException>(() => TrainingLoop.Run(method, model, opt, data.Train, data.Validation,
            new TrainingLoopOptions { Epochs = 4, CheckpointPath = dir.File("foreign.ckpt") }));
        Assert.Contains("no training history", ex.Message);
        Assert.Equal(before, model.parameters().Select(p => p.data<float>().ToArray()).ToArray());
    }
}
