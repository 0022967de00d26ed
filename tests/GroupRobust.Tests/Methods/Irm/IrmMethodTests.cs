using GroupRobust.Data;
using GroupRobust.Groups;
using GroupRobust.Identification;
using GroupRobust.Methods;
using GroupRobust.Randomness;
using GroupRobust.Tests.TestSupport;
using TorchSharp;
using static TorchSharp.torch;

namespace GroupRobust.Tests.Methods.Irm;

public class IrmMethodTests
{
    private static readonly int[] Labels = [0, 0, 1, 1, 0, 1, 0, 1, 0, 1];
    private static readonly int[] Attributes = [0, 1, 0, 1, 0, 0, 0, 1, 1, 0];

    [Fact]
    public void Environments_are_the_attribute_values_present_each_with_its_rows_in_batch_order()
    {
        using var data = Tiny.Dataset(Labels, Attributes, GroupScheme.Binary());
        var groups = GroupAssignment.FromTrueGroups(data);
        var envs = AttributeEnvironments.Rows([3, 0, 8, 2, 1], groups);
        Assert.Equal(2, envs.Count);
        Assert.Equal([1L, 3L], envs[0]);      // rows holding samples 0 and 2 (attribute 0)
        Assert.Equal([0L, 2L, 4L], envs[1]);  // samples 3, 8, 1 (attribute 1)
        Assert.Single(AttributeEnvironments.Rows([0, 2, 4], groups));
    }

    [Fact]
    public void Without_penalty_the_loss_is_the_mean_of_the_environments_cross_entropies()
    {
        using var scope = NewDisposeScope();
        using var data = Tiny.Dataset(Labels, Attributes, GroupScheme.Binary());
        using var method = new IrmMethod(GroupAssignment.FromTrueGroups(data), new SeedSource(0), new IrmOptions { PenaltyWeight = 0, AnnealSteps = 0 });
        using var model = Tiny.Network(3, 2, 6);
        method.BeginEpoch(1, 1);
        foreach (var batch in data.Batches(Enumerable.Range(0, 10).Select(i => (long)i), 10))
        {
            var ce = nn.functional.cross_entropy(model.call(batch.Inputs), batch.Labels, reduction: nn.Reduction.None).data<float>().ToArray();
            double e0 = Enumerable.Range(0, 10).Where(i => Attributes[i] == 0).Average(i => ce[i]);
            double e1 = Enumerable.Range(0, 10).Where(i => Attributes[i] == 1).Average(i => ce[i]);
            Assert.Equal((e0 + e1) / 2, method.Loss(model, batch).item<float>(), 5);
        }
    }

    [Fact]
    public void The_penalty_weighs_one_during_the_annealing_steps_then_lambda_and_a_repeat_takes_no_step()
    {
        using var scope = NewDisposeScope();
        using var data = Tiny.Dataset(Labels, Attributes, GroupScheme.Binary());
        var groups = GroupAssignment.FromTrueGroups(data);
        using var light = new IrmMethod(groups, new SeedSource(0), new IrmOptions { PenaltyWeight = 0, AnnealSteps = 1 });
        using var heavy = new IrmMethod(groups, new SeedSource(0), new IrmOptions { PenaltyWeight = 1000, AnnealSteps = 1 });
        using var model = Tiny.Network(3, 2, 7);
        light.BeginEpoch(1, 1);
        heavy.BeginEpoch(1, 1);
        foreach (var batch in data.Batches(Enumerable.Range(0, 10).Select(i => (long)i), 10))
        {
            // step 0: both weigh the penalty 1
            Assert.Equal(light.Loss(model, batch).item<float>(), heavy.Loss(model, batch).item<float>(), 6);
            Assert.Equal(1, heavy.Steps);
            float repeated = heavy.RepeatLoss(model, batch).item<float>();
            Assert.Equal(1, heavy.Steps);
            // step 1: lambda (0 and 1000); the penalty of this untrained model is not 0
            float l = light.Loss(model, batch).item<float>(), h = heavy.Loss(model, batch).item<float>();
            Assert.True(h > l + 1e-3, $"lambda = 1000 gave {h}, lambda = 0 gave {l}");
            Assert.True(repeated < h);
        }
    }

    [Fact]
    public void An_environment_with_one_row_in_the_batch_adds_its_cross_entropy_and_no_penalty()
    {
        using var scope = NewDisposeScope();
        using var data = Tiny.Dataset(Labels, Attributes, GroupScheme.Binary());
        using var method = new IrmMethod(GroupAssignment.FromTrueGroups(data), new SeedSource(0), new IrmOptions { AnnealSteps = 0 });
        using var model = Tiny.Network(3, 2, 8);
        method.BeginEpoch(1, 1);
        long[] order = [0, 2, 4, 1];   // attribute 0 three times, attribute 1 once
        foreach (var batch in data.Batches(order, 4))
        {
            var loss = method.Loss(model, batch);
            Assert.True(float.IsFinite(loss.item<float>()));
            loss.backward();
        }
        Assert.All(model.parameters(), p => Assert.True(p.grad!.isfinite().all().item<bool>()));
    }

    [Theory]
    [InlineData(-1.0, 0)]
    [InlineData(double.NaN, 0)]
    [InlineData(1.0, -1)]
    public void A_negative_or_non_finite_weight_or_negative_annealing_is_refused(double weight, int anneal)
    {
        using var data = Tiny.Dataset(Labels, Attributes, GroupScheme.Binary());
        var ex = Assert.Throws<ArgumentOutOfRangeException>(() => new IrmMethod(GroupAssignment.FromTrueGroups(data), new SeedSource(0), new IrmOptions { PenaltyWeight = weight, AnnealSteps = anneal }));
        Assert.Equal("options", ex.ParamName);
        Assert.Contains(anneal < 0 ? "AnnealSteps" : "PenaltyWeight", ex.Message);
    }

    [Fact]
    public void A_saved_step_count_that_is_not_a_whole_number_is_refused_and_changes_nothing()
    {
        using var data = Tiny.Dataset(Labels, Attributes, GroupScheme.Binary());
        using var method = new IrmMethod(GroupAssignment.FromTrueGroups(data), new SeedSource(0));
        var state = method.GetState();
        var bad = state with { Values = new Dictionary<string, double[]>(state.Values) { ["irm/steps"] = [2.5] } };
        var ex = Assert.Throws<ArgumentException>(() => method.SetState(bad));
        Assert.Equal("state", ex.ParamName);
        Assert.Contains("step count", ex.Message);
        Assert.Equal(0, method.Steps);
    }
}
