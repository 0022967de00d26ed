using GroupRobust.Evaluation;
using GroupRobust.Groups;
using GroupRobust.Identification;
using GroupRobust.Methods;
using GroupRobust.Mixing;
using GroupRobust.Randomness;
using GroupRobust.Tests.TestSupport;
using TorchSharp;
using static TorchSharp.torch;

namespace GroupRobust.Tests;

/// <summary>
/// Every library piece on a bf16 or fp16 model gives what it gives in fp32 on the same (rounded) numbers: group
/// statistics accumulate in float32 or wider, so only the inputs' own rounding differs (issue 17's reduced-precision
/// rule; measured here on the CPU, where TorchSharp runs bf16 and fp16 linear layers).
/// </summary>
public class ReducedPrecisionTests
{
    public static TheoryData<ScalarType> Reduced => new() { ScalarType.BFloat16, ScalarType.Float16 };

    private static double Epsilon(ScalarType dtype) => dtype == ScalarType.BFloat16 ? 1.0 / 256 : 1.0 / 2048;

    [Theory]
    [MemberData(nameof(Reduced))]
    public void GroupDro_q_and_statistics_match_float32_on_the_same_losses(ScalarType dtype)
    {
        using var scope = NewDisposeScope();
        using var generator = new torch.Generator(1);
        using var low = new GroupDroLoss([400, 40, 40, 400], new GroupDroOptions { StepSize = 0.1 });
        using var full = new GroupDroLoss([400, 40, 40, 400], new GroupDroOptions { StepSize = 0.1 });
        for (int step = 0; step < 30; step++)
        {
            var groups = torch.randint(0, 4, [256], generator: generator);
            var losses = (torch.rand([256], generator: generator) * 3).to(dtype);   // the reduced-precision losses
            var robustLow = low.Forward(losses, groups);
            var robustFull = full.Forward(losses.to(ScalarType.Float32), groups);    // the same numbers in float32
            Assert.Equal(dtype, robustLow.dtype);
            // the returned value is rounded once to the losses' dtype (relative spacing 2^-8 for bf16, 2^-11 for fp16)
            double f = robustFull.to(ScalarType.Float64).item<double>(), l = robustLow.to(ScalarType.Float64).item<double>();
            Assert.InRange(Math.Abs(l - f), 0, Epsilon(dtype) * Math.Abs(f));
        }
        var a = low.Snapshot();
        var b = full.Snapshot();
        for (int g = 0; g < 4; g++)
        {
            Assert.Equal(b.Q[g], a.Q[g], 1e-6);
            Assert.Equal(b.ExpAvgLoss[g], a.ExpAvgLoss[g], 1e-6);
            Assert.Equal(b.LastGroupLoss[g], a.LastGroupLoss[g], 1e-6);
        }
    }

    [Theory]
    [MemberData(nameof(Reduced))]
    public void The_evaluator_counts_the_same_as_for_float32_logits(ScalarType dtype)
    {
        using var scope = NewDisposeScope();
        using var generator = new torch.Generator(2);
        var scheme = GroupScheme.Binary();
        using var low = new WorstGroupEvaluator(scheme);
        using var full = new WorstGroupEvaluator(scheme);
        for (int batch = 0; batch < 10; batch++)
        {
            var labels = torch.randint(0, 2, [300], generator: generator);
            var groups = labels * 2 + torch.randint(0, 2, [300], generator: generator);
            var logits = torch.randn([300, 2], generator: generator).to(dtype);
            low.Add(logits, labels, groups);
            full.Add(logits.to(ScalarType.Float32), labels, groups);
        }
        Assert.Equal(full.Compute().ToMarkdown(), low.Compute().ToMarkdown());
    }

    [Theory]
    [MemberData(nameof(Reduced))]
    public void Mixing_and_the_jm1_loss_on_a_reduced_precision_model_match_float32_within_its_rounding(ScalarType dtype)
    {
        var labels = Enumerable.Range(0, 64).Select(i => i % 2).ToArray();
        using var data = Tiny.Dataset(labels, null);
        var errorSet = GroupAssignment.FromErrorSet(Enumerable.Range(0, 64).Select(i => i % 8 == 0).ToArray(), data, "test");
        using var scope = NewDisposeScope();
        var batchIdx = Enumerable.Range(0, 32).Select(i => (long)(2 * i)).ToArray();
        using var batch = data.GetBatch(batchIdx);

        // the input-level mix: weights in the inputs' dtype, the result the float32 mix up to one rounding
        var mixer = new ClassConditionalMixer(errorSet, new Random(3));
        var plan = mixer.DrawPartners(batch);
        using var partners = data.GetBatch(plan.PartnerIndices);
        var x = batch.Inputs / 64;
        var p = partners.Inputs / 64;
        var mixedLow = mixer.Mix(x.to(dtype), p.to(dtype), plan, 0.3);
        var mixedFull = mixer.Mix(x.to(dtype).to(ScalarType.Float32), p.to(dtype).to(ScalarType.Float32), plan, 0.3);
        Assert.Equal(dtype, mixedLow.dtype);
        Assert.True(mixedLow.to(ScalarType.Float32).allclose(mixedFull, rtol: 1e-2, atol: 1e-2));

        // the whole JM1 step at a hidden layer: the same loss as the float32 copy of the model on the same rounded inputs
        var rounded = (data.Inputs / 64).to(dtype);
        using var dataLow = new GroupRobust.Data.TensorGroupDataset(rounded, torch.tensor(labels.Select(v => (long)v).ToArray()), data.Scheme);
        using var dataFull = new GroupRobust.Data.TensorGroupDataset(rounded.to(ScalarType.Float32), torch.tensor(labels.Select(v => (long)v).ToArray()), data.Scheme);
        foreach (var partnersFrom in new[] { PartnerSource.Dataset, PartnerSource.Batch })
        {
            var options = new Jm1Options { Layer = MixingLayer.Named("act"), Partners = partnersFrom };
            using var methodLow = Jm1Method.Jm1(dataLow, errorSet, new SeedSource(4), options);
            using var methodFull = Jm1Method.Jm1(dataFull, errorSet, new SeedSource(4), options);
            using var modelFull = Seeded.Init(nn.Sequential(("lin1", nn.Linear(3, 8)), ("act", nn.ReLU()), ("fc", nn.Linear(8, 2))), 5, 0.3);
            using var modelLow = Seeded.Init(nn.Sequential(("lin1", nn.Linear(3, 8)), ("act", nn.ReLU()), ("fc", nn.Linear(8, 2))), 5, 0.3);
            modelLow.to(dtype);
            using (torch.no_grad())
                foreach (var (l, f) in modelLow.parameters().Zip(modelFull.parameters()))
                    f.copy_(l.to(ScalarType.Float32));   // the float32 model holds exactly the rounded weights
            methodLow.BeginEpoch(1, 1);
            methodFull.BeginEpoch(1, 1);
            using var lowBatch = dataLow.GetBatch(batchIdx);
            using var fullBatch = dataFull.GetBatch(batchIdx);
            var lossLow = methodLow.Loss(modelLow, lowBatch);
            var lossFull = methodFull.Loss(modelFull, fullBatch);
            Assert.Equal(dtype, lossLow.dtype);
            Assert.Equal(lossFull.item<float>(), lossLow.to(ScalarType.Float32).item<float>(), 0.05);   // the whole forward in reduced precision
            lossLow.backward();
            Assert.All(modelLow.parameters(), q => Assert.Equal(dtype, q.grad!.dtype));
        }
    }
}
