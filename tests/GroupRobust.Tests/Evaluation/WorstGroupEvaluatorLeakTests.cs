using GroupRobust.Data;
using GroupRobust.Evaluation;
using GroupRobust.Groups;
using GroupRobust.Tests.TestSupport;
using TorchSharp;
using static TorchSharp.torch;

namespace GroupRobust.Tests.Evaluation;

[Collection(LeakCollection.Name)]
public class WorstGroupEvaluatorLeakTests
{
    [Fact]
    public void Thousands_of_steps_keep_the_live_tensor_count_flat()
    {
        using var ev = new WorstGroupEvaluator(GroupScheme.Binary(), new EvaluatorOptions { BootstrapSamples = 10 });
        using var logits = torch.randn(16, 2);
        using var labels = torch.randint(0, 2, [16], dtype: ScalarType.Int64);
        using var attrs = torch.randint(0, 2, [16], dtype: ScalarType.Int64);
        using var groups = labels.mul(2).add(attrs);
        LeakCheck.AssertFlat(() => ev.Add(logits, labels, groups), warmup: 100, steps: 2000);
        Assert.Equal(2100 * 16, ev.Count);
        var r = ev.Compute();
        Assert.Equal(2100 * 16, r.Count);
        // the caller's tensors are untouched
        Assert.False(logits.IsInvalid);
        Assert.False(groups.IsInvalid);
    }

    [Fact]
    public void Evaluate_runs_a_model_without_leaking_and_restores_training_mode()
    {
        using var splits = SyntheticGaussianDataset.Create(new SyntheticGaussianOptions { TrainSize = 64, ValidationSize = 40, TestSize = 40 });
        using var model = nn.Linear(2, 2);
        model.train();
        using var ev = new WorstGroupEvaluator(splits.Scheme);
        EvaluationResult? last = null;
        LeakCheck.AssertFlat(() => last = ev.Evaluate(model, splits.Test, batchSize: 16), warmup: 2, steps: 20);
        Assert.True(model.training);
        Assert.Equal(40, last!.Count);
        Assert.Equal(4, last.Groups.Count);
    }
}
