using GroupRobust.Data;
using GroupRobust.Evaluation;
using GroupRobust.Identification;
using GroupRobust.Losses;
using GroupRobust.Mixing;
using GroupRobust.Randomness;
using GroupRobust.Reweighting;
using GroupRobust.Tests.TestSupport;
using TorchSharp;
using static TorchSharp.torch;

namespace GroupRobust.Tests;

/// <summary>The suite's version of bench/run-soak.sh: a few epochs through every method; the live tensor count stays flat after the first.</summary>
[Collection(LeakCollection.Name)]
public class SoakTests
{
    [Fact]
    public void Every_method_runs_epochs_without_growing_the_live_tensor_count()
    {
        using var data = SyntheticGaussianDataset.Create(new SyntheticGaussianOptions { TrainSize = 256, ValidationSize = 64, TestSize = 64, SpuriousScale = 3 });
        var partition = new OracleIdentifier().Identify(data.Train);
        var rng = new ReproducibleRandom(0);
        torch.random.manual_seed(0);
        using var model = nn.Sequential(("lin1", nn.Linear(2, 8)), ("act", nn.ReLU()), ("fc", nn.Linear(8, 2)));
        using var opt = torch.optim.SGD(model.parameters(), 0.05);
        var mixer = new ClassConditionalMixer(partition, rng);
        var hidden = new MixedForwardPass(model, ["input", "act", "output"], rng);
        var mixup = new StandardMixup(1, rng);
        using var dro = new GroupDroLoss(data.TrainGroupCounts(), new GroupDroOptions { Btl = false });
        using var evaluator = new WorstGroupEvaluator(data.Scheme, new EvaluatorOptions { BootstrapSamples = 20 });
        using var recorder = new ErrorSetRecorder(data.Train);
        var jtt = new JttReweighter(partition, 3, 1);
        var shuffle = new ShuffleSampler(data.Train.Count, 1);
        var balanced = new GroupBalancedSampler(GroupAssignment.FromTrueGroups(data.Train), 1);
        var schedule = AlphaSchedule.UniformThenBeta();
        int epoch = 0;

        void Run(IEnumerable<long> order, Func<Batch, Tensor> loss)
        {
            foreach (var batch in data.Train.Batches(order, 32))
            {
                using var scope = NewDisposeScope();
                opt.zero_grad();
                loss(batch).backward();
                opt.step();
            }
        }

        LeakCheck.AssertFlat(() =>
        {
            Run(shuffle.IndicesForEpoch(epoch), b =>
            {
                var logits = model.call(b.Inputs);
                recorder.Record(0, b, logits);
                return nn.functional.cross_entropy(logits, b.Labels);
            });
            Run(jtt.IndicesForEpoch(epoch), b => nn.functional.cross_entropy(model.call(b.Inputs), b.Labels));
            Run(shuffle.IndicesForEpoch(epoch), b =>
            {
                var plan = mixer.DrawPartners(b);
                var partners = data.Train.GetBatch(plan.PartnerIndices);
                var c = mixer.Coefficients(plan, schedule.Sample(epoch % 6, 6, rng), b.Inputs);
                return nn.functional.cross_entropy(hidden.Run(b.Inputs, partners.Inputs, c), b.Labels);
            });
            mixer.EndEpoch();
            Run(shuffle.IndicesForEpoch(epoch), b =>
            {
                var d = mixup.Draw(b.Size);
                return StandardMixup.Loss(model.call(StandardMixup.Mix(b.Inputs, d)), b.Labels, d);
            });
            Run(balanced.IndicesForEpoch(epoch), b => dro.Forward(nn.functional.cross_entropy(model.call(b.Inputs), b.Labels, reduction: nn.Reduction.None), b.Groups!));
            evaluator.Evaluate(model, data.Validation);
            new MisclassificationIdentifier(model).Identify(data.Train);
            epoch++;
        }, warmup: 1, steps: 6);
    }
}
