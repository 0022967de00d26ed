using GroupRobust.Data;
using GroupRobust.Evaluation;
using GroupRobust.Groups;
using GroupRobust.Identification;
using GroupRobust.Methods;
using GroupRobust.Randomness;
using GroupRobust.Tests.Methods;
using GroupRobust.Training;
using TorchSharp;
using static TorchSharp.torch;

namespace GroupRobust.Tests.Training;

public class TrainingLoopClippingAndBudgetTests
{
    /// <summary>Cross entropy times a large factor, over the whole split in one batch: gradients far above any clipping threshold.</summary>
    private sealed class ScaledLoss(int size, double scale) : TrainingMethod("scaled", size, new SeedSource(0))
    {
        public override string Name => "scaled CE";

        public override LabelBudget LabelBudget => LabelBudget.None;

        protected override long[] Order(int epoch) => Enumerable.Range(0, DatasetSize).Select(i => (long)i).ToArray();

        protected override Tensor BatchLoss(nn.Module<Tensor, Tensor> model, Batch batch)
            => nn.functional.cross_entropy(model.call(batch.Inputs), batch.Labels) * scale;
    }

    private static double[] Flat(nn.Module model) => model.parameters().SelectMany(p => p.detach().to(ScalarType.Float64).flatten().data<double>().ToArray()).ToArray();

    private static double Distance(double[] a, double[] b) => Math.Sqrt(a.Zip(b, (x, y) => (x - y) * (x - y)).Sum());

    /// <summary>One SGD step (lr 0.1) of the scaled loss, clipped or not; returns how far the parameters moved.</summary>
    private static double Step(DatasetSplits data, double? maxNorm)
    {
        using var model = MethodFactory.Model(1);
        var before = Flat(model);
        using var method = new ScaledLoss(data.Train.Count, 1e4);
        using var sgd = torch.optim.SGD(model.parameters(), 0.1);
        TrainingLoop.Run(method, model, sgd, data.Train, data.Validation, new TrainingLoopOptions
        {
            Epochs = 1, BatchSize = data.Train.Count, MaxGradientNorm = maxNorm, RestoreBest = false, Evaluator = new EvaluatorOptions { BootstrapSamples = 0 },
        });
        return Distance(before, Flat(model));
    }

    [Fact]
    public void MaxGradientNorm_bounds_the_step_by_learning_rate_times_the_norm()
    {
        using var data = MethodFactory.Data(100);
        double unclipped = Step(data, null);
        double clipped = Step(data, 0.5);
        double loose = Step(data, 1e9);
        // SGD moves by lr x gradient; clipped to global norm 0.5 the step is at most 0.1 x 0.5 and, the gradient being far
        // larger, exactly that
        Assert.True(clipped <= 0.1 * 0.5 * (1 + 1e-4), $"clipped step {clipped}");
        Assert.True(clipped >= 0.1 * 0.5 * (1 - 1e-3), $"clipped step {clipped}");
        Assert.True(unclipped > 100 * clipped, $"unclipped step {unclipped} vs clipped {clipped}");
        // a threshold above the gradient's norm changes nothing
        Assert.Equal(unclipped, loose, unclipped * 1e-6);
    }

    [Fact]
    public void Invalid_gradient_norms_are_rejected()
    {
        using var data = MethodFactory.Data(100);
        using var model = MethodFactory.Model(0);
        using var method = MethodFactory.Make("erm", data, new SeedSource(0));
        using var opt = torch.optim.SGD(model.parameters(), 0.1);
        foreach (var bad in new[] { 0, -1, double.NaN, double.PositiveInfinity })
        {
            var ex = Assert.Throws<ArgumentOutOfRangeException>(() => TrainingLoop.Run(method, model, opt, data.Train, data.Validation,
                new TrainingLoopOptions { Epochs = 1, MaxGradientNorm = bad }));
            Assert.Equal("MaxGradientNorm", ex.ParamName);
        }
        Assert.Equal("MaxGradientNorm", Assert.Throws<ArgumentOutOfRangeException>(() => new TrainingLoopOptions { MaxGradientNorm = -0.5 }.Validate()).ParamName);
        new TrainingLoopOptions { MaxGradientNorm = null }.Validate();
        new TrainingLoopOptions { MaxGradientNorm = 1e-12 }.Validate();
    }

    private static TrainingHistory Run(string kind, DatasetSplits data, IGroupDataset validation, SelectionRule? selection = null)
    {
        using var model = MethodFactory.Model(2);
        using var method = MethodFactory.Make(kind, data, new SeedSource(3));
        using var opt = torch.optim.SGD(model.parameters(), 0.1);
        return TrainingLoop.Run(method, model, opt, data.Train, validation, new TrainingLoopOptions
        {
            Epochs = 2, BatchSize = 50, Selection = selection ?? SelectionRule.Auto, Evaluator = new EvaluatorOptions { BootstrapSamples = 0 },
        });
    }

    [Fact]
    public void Worst_group_selection_on_inferred_validation_groups_reads_no_group_label()
    {
        using var data = MethodFactory.Data(200);
        var val = data.Validation;
        // inferred validation environments with three values per class (6 groups, so the loop must use the view's groups)
        var values = Enumerable.Range(0, val.Count).Select(i => i % 3).ToArray();
        var inferred = GroupAssignment.FromInferred(values, val.Labels.Span, 2, 3, [2, 5], "test");
        using var inferredView = inferred.ApplyTo(val);
        var history = Run("erm", data, inferredView);
        Assert.Same(SelectionRule.WorstGroupAccuracy, history.Selection);   // Auto: the view has groups
        Assert.Equal(LabelBudget.None, history.LabelBudget);
        Assert.All(history.Epochs, e => Assert.Equal(6, e.Validation.Groups.Count));
        Assert.All(history.Epochs, e => Assert.NotNull(e.Validation.WorstGroupAccuracy));

        // the same loop on the true groups, through a view or not, reads validation group labels for selection
        using var trueView = GroupAssignment.FromTrueGroups(val).ApplyTo(val);
        Assert.Equal(LabelBudget.ValidationGroupsForSelection, Run("erm", data, trueView).LabelBudget);
        Assert.Equal(LabelBudget.ValidationGroupsForSelection, Run("erm", data, val).LabelBudget);
        // a method that trains on true groups keeps its own budget whatever the validation groups are
        Assert.Equal(LabelBudget.TrainingGroups, Run("groupdro", data, inferredView).LabelBudget);
        // average-accuracy selection reads none either way
        Assert.Equal(LabelBudget.None, Run("erm", data, trueView, SelectionRule.AverageAccuracy).LabelBudget);
    }
}
