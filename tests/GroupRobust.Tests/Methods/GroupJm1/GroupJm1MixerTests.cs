using GroupRobust.Identification;
using GroupRobust.Data;
using GroupRobust.Evaluation;
using GroupRobust.Methods;
using GroupRobust.Mixing;
using GroupRobust.Randomness;
using GroupRobust.Tests.TestSupport;
using TorchSharp;
using static TorchSharp.torch;
using GroupRobust.Sampling;

namespace GroupRobust.Tests.Methods.GroupJm1;

public class GroupJm1MixerTests
{
    [Fact]
    public void Only_the_worst_groups_rows_are_mixed_with_same_class_rows_of_other_groups()
    {
        using var ds = Tiny.Dataset([0, 0, 0, 1, 1, 1, 0, 1], [0, 1, 0, 0, 1, 1, 1, 0]);
        var mixer = new GroupJm1Mixer(GroupAssignment.FromTrueGroups(ds), new ReproducibleRandom(0));
        using var batch = ds.GetBatch([0, 1, 2, 3, 4, 5, 6, 7]);
        var groups = ds.Groups.ToArray();
        for (int t = 0; t < 50; t++)
        {
            var plan = mixer.DrawPartners(batch, worstGroup: 1);
            for (int i = 0; i < 8; i++)
            {
                Assert.Equal(groups[i] == 1, plan.Mixed[i]);
                if (plan.Mixed[i])
                {
                    Assert.NotEqual(1, groups[plan.PartnerIndices[i]]);
                    Assert.Equal(0, ds.Labels.Span[(int)plan.PartnerIndices[i]]);
                }
                else Assert.Equal(i, plan.PartnerIndices[i]);
            }
        }
        using var scope = NewDisposeScope();
        Assert.Equal(2, GroupJm1Mixer.WorstGroup(torch.tensor(new[] { 0.1, 0.5, 0.9, 9.0 }), torch.tensor(new[] { 1.0, 1.0, 2.0, 0.0 })));
        // a NaN loss of a present group is an error, not the winner (a device arg-max would pick it); an absent group's NaN is skipped
        var nan = Assert.Throws<ArgumentException>(() => GroupJm1Mixer.WorstGroup(torch.tensor(new[] { 0.1, double.NaN, 0.9, 0.2 }), torch.tensor(new[] { 1.0, 3.0, 2.0, 1.0 })));
        Assert.Contains("loss of group 1 (3 rows in the batch) is NaN", nan.Message);
        Assert.Equal(2, GroupJm1Mixer.WorstGroup(torch.tensor(new[] { 0.1, double.NaN, 0.9, 0.2 }), torch.tensor(new[] { 1.0, 0.0, 2.0, 1.0 })));
        Assert.Equal(3, GroupJm1Mixer.WorstGroup(torch.tensor(new[] { 0.1, 0.5, 0.9, double.PositiveInfinity }), torch.tensor(new[] { 1.0, 1.0, 2.0, 1.0 })));
    }

    [Fact]
    public void The_method_refuses_a_robust_loss_over_other_groups_and_an_unknown_orientation()
    {
        using var ds = Tiny.Dataset([0, 0, 0, 1, 1, 1, 0, 1], [0, 1, 0, 0, 1, 1, 1, 0]);
        var groups = GroupAssignment.FromTrueGroups(ds);
        using var three = new GroupDroLoss([3, 3, 2]);
        var ex = Assert.Throws<ArgumentException>(() => new GroupJm1Method(ds, groups, new SeedSource(0), robustLoss: three));
        Assert.Equal("robustLoss", ex.ParamName);
        Assert.Contains("weighs 3 groups but the groups have 4", ex.Message);
        Assert.Equal("options", Assert.Throws<ArgumentOutOfRangeException>(() => new GroupJm1Method(ds, groups, new SeedSource(0), new GroupJm1Options { Orientation = (AlphaOrientation)7 })).ParamName);
    }

    [Fact]
    public void Trains_with_the_groupdro_loss_end_to_end()
    {
        using var splits = SyntheticGaussianDataset.Create(new SyntheticGaussianOptions { TrainSize = 1000, SpuriousScale = 3, Seed = 0 });
        torch.random.manual_seed(0);
        using var model = nn.Linear(2, 2);
        using var opt = torch.optim.SGD(model.parameters(), 0.1);
        using var dro = new GroupDroLoss(splits.TrainGroupCounts(), new GroupDroOptions { StepSize = 0.1 });
        var rng = new ReproducibleRandom(1);
        var mixer = new GroupJm1Mixer(GroupAssignment.FromTrueGroups(splits.Train), rng);
        var sampler = new ShuffleSampler(splits.Train.Count, 3);
        int worst = 0;
        for (int epoch = 0; epoch < 20; epoch++)
        {
            foreach (var batch in splits.Train.Batches(sampler, 64))
            {
                using var scope = NewDisposeScope();
                var plan = mixer.DrawPartners(batch, worst);
                using var partners = splits.Train.GetBatch(plan.PartnerIndices);
                var logits = model.call(mixer.Mix(batch.Inputs, partners.Inputs, plan, AlphaSchedule.Uniform().Sample(epoch + 1, 20, rng)));
                opt.zero_grad();
                dro.Forward(nn.functional.cross_entropy(logits, batch.Labels, reduction: nn.Reduction.None), batch.Groups!).backward();
                opt.step();
                using var gl = torch.tensor(dro.Snapshot().LastGroupLoss);
                using var gc = torch.tensor(dro.Snapshot().LastGroupCount);
                worst = GroupJm1Mixer.WorstGroup(gl, gc);
            }
        }
        using var evaluator = new WorstGroupEvaluator(splits.Scheme);
        var result = evaluator.Evaluate(model, splits.Test);
        // Measured with this setting on data seeds 0-2: worst-group 69.2-80.6% (avg 82.4-84.7%).
        Assert.True(result.WorstGroupAccuracy > 0.65, result.ToString());
    }

    [Fact]
    public void Behind_the_mixer_contract_it_mixes_the_target_group_and_counts_it()
    {
        using var ds = Tiny.Dataset([0, 0, 0, 1, 1, 1], [0, 0, 1, 0, 1, 1]);
        IPartnerMixer mixer = new GroupJm1Mixer(GroupAssignment.FromTrueGroups(ds), new Random(0));
        using var batch = ds.GetBatch([0, 1, 2, 3, 4, 5]);
        Assert.Contains("Set TargetGroup", Assert.Throws<InvalidOperationException>(() => mixer.DrawPartners(batch)).Message);
        ((GroupJm1Mixer)mixer).TargetGroup = 1;                     // (y=0, a=1): row 2
        var plan = mixer.DrawPartners(batch);
        Assert.Equal([false, false, true, false, false, false], plan.Mixed);
        Assert.Contains(plan.PartnerIndices[2], new long[] { 0, 1 });
        using var c = mixer.Coefficients(plan, 0.25, batch.Inputs);
        var stats = mixer.EndEpoch();
        Assert.Equal(1, stats.Mixed);
        Assert.Equal(0, stats.Unmixed);
        Assert.Equal(0.25, stats.AlphaMean, 12);
    }
}
