using GroupRobust.Data;
using GroupRobust.Evaluation;
using GroupRobust.Groups;
using GroupRobust.Methods;
using GroupRobust.Randomness;
using GroupRobust.Tests.TestSupport;
using GroupRobust.Training;
using TorchSharp;
using static TorchSharp.torch;

namespace GroupRobust.Tests.Methods;

public class LabelBudgetTests
{
    public static TheoryData<string> WithoutTrainingGroups()
    {
        var data = new TheoryData<string>();
        foreach (var k in MethodFactory.WithoutTrainingGroups) data.Add(k);
        return data;
    }

    /// <summary>The same training split with its group annotations removed at the source.</summary>
    private static DatasetSplits Stripped(DatasetSplits data)
    {
        var train = (TensorGroupDataset)data.Train;
        using var scope = NewDisposeScope();
        var labels = torch.tensor(train.Labels.ToArray().Select(v => (long)v).ToArray());
        var bare = new TensorGroupDataset(train.Inputs, labels, train.Scheme);
        return new DatasetSplits(bare, data.Validation, data.Test);
    }

    [Theory]
    [MemberData(nameof(WithoutTrainingGroups))]
    public void Without_training_group_labels_the_methods_that_need_none_give_bit_identical_results(string kind)
    {
        using var data = MethodFactory.Data();
        var stripped = Stripped(data);
        var options = new TrainingLoopOptions { Epochs = 2, BatchSize = 32, Evaluator = new EvaluatorOptions { BootstrapSamples = 0 } };
        try
        {
            Assert.False(stripped.Train.HasGroups);
            using var a = MethodFactory.ModelFor(kind, 1);
            using var b = MethodFactory.ModelFor(kind, 1);
            TrainingHistory ha, hb;
            using (var method = MethodFactory.Make(kind, data, new SeedSource(3)))
            using (var opt = torch.optim.Adam(a.parameters(), 0.01))
                ha = TrainingLoop.Run(method, a, opt, data.Train, data.Validation, options);
            using (var method = MethodFactory.Make(kind, stripped, new SeedSource(3)))
            using (var opt = torch.optim.Adam(b.parameters(), 0.01))
                hb = TrainingLoop.Run(method, b, opt, stripped.Train, stripped.Validation, options);
            foreach (var ((name, pa), (_, pb)) in a.named_parameters().Zip(b.named_parameters()))
                Assert.True(pa.allclose(pb, 0, 0), $"{kind}: parameter {name} differs without training group labels");
            Assert.Equal(ha.Epochs.Select(e => e.Validation.ToJson()), hb.Epochs.Select(e => e.Validation.ToJson()));
            Assert.Equal(LabelBudget.ValidationGroupsForSelection, ha.LabelBudget);   // worst-group selection on validation
        }
        finally
        {
            stripped.Train.Dispose();
        }
    }

    /// <summary>A method that records whether its batches carried group ids.</summary>
    private sealed class Probe(IGroupDataset train, LabelBudget budget) : TrainingMethod("probe", train.Count, new SeedSource(0))
    {
        public List<bool> SawGroups { get; } = [];

        public override string Name => "probe";

        public override LabelBudget LabelBudget => budget;

        protected override long[] Order(int epoch) => Enumerable.Range(0, DatasetSize).Select(i => (long)i).ToArray();

        protected override Tensor BatchLoss(nn.Module<Tensor, Tensor> model, Batch batch)
        {
            SawGroups.Add(batch.Groups is not null);
            return nn.functional.cross_entropy(model.call(batch.Inputs), batch.Labels);
        }
    }

    [Fact]
    public void A_method_below_the_training_groups_budget_never_sees_group_ids()
    {
        using var data = MethodFactory.Data(64);
        using var model = MethodFactory.Model(0);
        foreach (var budget in new[] { LabelBudget.None, LabelBudget.ValidationGroupsForSelection, LabelBudget.TrainingGroups })
        {
            using var probe = new Probe(data.Train, budget);
            using var opt = torch.optim.SGD(model.parameters(), 0.01);
            // in a hand-written loop, with batches that carry group ids
            MethodFactory.Train(probe, model, opt, data.Train, 0, 1, 1);
            // and in the ready loop
            TrainingLoop.Run(probe, model, opt, data.Train, data.Validation, new TrainingLoopOptions { Epochs = 1, BatchSize = 32, Evaluator = new EvaluatorOptions { BootstrapSamples = 0 } });
            Assert.All(probe.SawGroups, saw => Assert.Equal(budget == LabelBudget.TrainingGroups, saw));
        }
    }

    [Fact]
    public void The_ungrouped_view_hides_groups_and_owns_nothing()
    {
        using var data = MethodFactory.Data(64);
        var view = data.Train.WithoutGroupLabels();
        Assert.False(view.HasGroups);
        Assert.True(view.Groups.IsEmpty);
        Assert.Equal(data.Train.Labels.ToArray(), view.Labels.ToArray());
        Assert.Throws<InvalidOperationException>(() => GroupRobust.Identification.GroupAssignment.FromTrueGroups(view));
        using (var batch = view.GetBatch([0, 1, 2]))
        {
            Assert.Null(batch.Groups);
            Assert.Equal(3, batch.Size);
        }
        view.Dispose();
        using var again = data.Train.GetBatch([0]); // the dataset is still usable
        Assert.NotNull(again.Groups);
        Assert.Same(view, view.WithoutGroupLabels());
    }
}
