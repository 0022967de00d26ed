using GroupRobust.Data;
using GroupRobust.Identification;
using GroupRobust.Mixing;
using GroupRobust.Randomness;
using GroupRobust.Tests.TestSupport;
using TorchSharp;
using static TorchSharp.torch;
using GroupRobust.Methods;

namespace GroupRobust.Tests.Mixing;

[Collection(LeakCollection.Name)]
public class MixingLeakTests
{
    [Fact]
    public void Training_steps_with_input_and_hidden_mixing_keep_the_live_tensor_count_flat()
    {
        using var splits = SyntheticGaussianDataset.Create(new SyntheticGaussianOptions { TrainSize = 256, SpuriousScale = 3 });
        var partition = new OracleIdentifier().Identify(splits.Train);
        torch.random.manual_seed(0);
        using var model = nn.Sequential(("lin1", nn.Linear(2, 8)), ("act1", nn.ReLU()), ("fc", nn.Linear(8, 2)));
        using var opt = torch.optim.SGD(model.parameters(), 0.01);
        var rng = new ReproducibleRandom(1);
        var mixer = new ClassConditionalMixer(partition, rng);
        var hidden = new MixedForwardPass(model, ["input", "act1", "output"], rng);
        var schedule = AlphaSchedule.UniformThenBeta();
        var indices = Enumerable.Range(0, 32).Select(i => (long)i).ToArray();
        int step = 0;
        LeakCheck.AssertFlat(() =>
        {
            using var batch = splits.Train.GetBatch(indices);
            using var scope = NewDisposeScope();
            var plan = mixer.DrawPartners(batch);
            using var partners = splits.Train.GetBatch(plan.PartnerIndices);
            var c = mixer.Coefficients(plan, schedule.Sample(step++ % 4 + 1, 4, rng), batch.Inputs);
            opt.zero_grad();
            var logits = hidden.Run(batch.Inputs, partners.Inputs, c);
            nn.functional.cross_entropy(logits, batch.Labels).backward();
            opt.step();
        }, warmup: 10, steps: 300);
        var stats = mixer.EndEpoch();
        Assert.Equal(310 * 32, stats.Mixed);
    }

    [Fact]
    public void Lisa_steps_with_soft_label_loss_keep_the_live_tensor_count_flat()
    {
        using var splits = SyntheticGaussianDataset.Create(new SyntheticGaussianOptions { TrainSize = 256, SpuriousScale = 3 });
        var groups = GroupAssignment.FromTrueGroups(splits.Train);
        using var model = Methods.MethodFactory.Model(0);
        using var opt = torch.optim.SGD(model.parameters(), 0.01);
        var rng = new ReproducibleRandom(1);
        var mixer = new LisaMixer(groups, rng);
        var hidden = new MixedForwardPass(model, ["input", "act", "output"], rng);
        var indices = Enumerable.Range(0, 32).Select(i => (long)i).ToArray();
        var lambdas = Enumerable.Range(0, 32).Select(i => (i + 0.5) / 32).ToArray();
        LeakCheck.AssertFlat(() =>
        {
            using var batch = splits.Train.GetBatch(indices);
            using var scope = NewDisposeScope();
            var plan = mixer.DrawPartners(batch);
            using var partners = splits.Train.GetBatch(plan.PartnerIndices);
            var c = mixer.Coefficients(plan, lambdas, batch.Inputs);
            opt.zero_grad();
            var logits = hidden.Run(batch.Inputs, partners.Inputs, c);
            var own = nn.functional.cross_entropy(logits, batch.Labels, reduction: nn.Reduction.None);
            var other = nn.functional.cross_entropy(logits, partners.Labels, reduction: nn.Reduction.None);
            (c * own + (1 - c) * other).mean().backward();
            opt.step();
        }, warmup: 10, steps: 300);
        var (intraLabel, intraDomain) = mixer.StrategyCounts;
        Assert.Equal(310, intraLabel + intraDomain);
        Assert.True(intraLabel > 0 && intraDomain > 0);
        Assert.Equal(310 * 32, mixer.EndEpoch().Mixed);
    }

    [Fact]
    public void Standard_mixup_steps_leak_nothing()
    {
        var m = new StandardMixup(1.0, new ReproducibleRandom(2));
        using var x = torch.randn(16, 3);
        using var y = torch.randint(0, 2, [16], dtype: ScalarType.Int64);
        using var model = nn.Linear(3, 2);
        LeakCheck.AssertFlat(() =>
        {
            using var scope = NewDisposeScope();
            var d = m.Draw(16);
            StandardMixup.Loss(model.call(StandardMixup.Mix(x, d)), y, d).backward();
        }, warmup: 5, steps: 300);
    }
}
