using GroupRobust.Data;
using GroupRobust.Evaluation;
using GroupRobust.Methods;
using GroupRobust.Randomness;
using GroupRobust.Tests.Methods;
using GroupRobust.Training;
using TorchSharp;
using static TorchSharp.torch;

namespace GroupRobust.Tests.Training;

/// <summary>A last batch of one row cannot be batch-normalised: the ready loop refuses it at the door, or drops it when asked (drop_last).</summary>
public class OneRowBatchTests
{
    private static nn.Module<Tensor, Tensor> WithBatchNorm()
    {
        var model = nn.Sequential(("lin1", nn.Linear(2, 8)), ("bn", nn.BatchNorm1d(8)), ("act", nn.ReLU()), ("fc", nn.Linear(8, 2)));
        using var generator = new torch.Generator(7);
        using var noGrad = torch.no_grad();
        foreach (var p in model.parameters())
        {
            using var init = torch.randn(p.shape, generator: generator).mul_(0.3);
            p.copy_(init);
        }
        return model;
    }

    private static TrainingLoopOptions Options(bool dropLast) => new()
    {
        Epochs = 2, BatchSize = 64, DropLast = dropLast, Selection = SelectionRule.AverageAccuracy, Evaluator = new EvaluatorOptions { BootstrapSamples = 0 },
    };

    [Fact]
    public void A_one_row_last_batch_with_batch_norm_is_refused_before_training_and_drop_last_trains_with_finite_statistics()
    {
        using var data = MethodFactory.Data(129);   // 2 x 64 + 1: every epoch ends with one row
        using var model = WithBatchNorm();
        var before = model.state_dict().ToDictionary(kv => kv.Key, kv => kv.Value.clone());
        using (var method = MethodFactory.Make("erm", data, new SeedSource(0)))
        using (var sgd = torch.optim.SGD(model.parameters(), 0.1))
        {
            var ex = Assert.Throws<ArgumentException>(() => TrainingLoop.Run(method, model, sgd, data.Train, data.Validation, Options(dropLast: false)));
            Assert.Equal("options", ex.ParamName);
            Assert.Contains("Epoch 1 of ERM has 129 samples", ex.Message);
            Assert.Contains("'bn' (BatchNorm1d, training)", ex.Message);
            Assert.Contains("DropLast = true", ex.Message);
        }
        foreach (var (name, value) in model.state_dict()) Assert.True(torch.equal(value, before[name]).all().ToBoolean(), $"{name} changed although the run was refused");

        using (var method = MethodFactory.Make("erm", data, new SeedSource(0)))
        using (var sgd = torch.optim.SGD(model.parameters(), 0.1))
        {
            var history = TrainingLoop.Run(method, model, sgd, data.Train, data.Validation, Options(dropLast: true));
            Assert.Equal(2, history.Epochs.Count);
        }
        var runningVar = model.state_dict()["bn.running_var"];
        Assert.True(runningVar.isfinite().all().ToBoolean(), "running variance stays finite");
        Assert.False(torch.equal(runningVar, before["bn.running_var"]).all().ToBoolean(), "the batch norm trained");
        foreach (var t in before.Values) t.Dispose();
    }

    [Fact]
    public void Without_batch_norm_or_with_a_longer_last_batch_nothing_is_refused()
    {
        using var odd = MethodFactory.Data(129);
        using (var model = MethodFactory.Model(0))
        using (var method = MethodFactory.Make("erm", odd, new SeedSource(0)))
        using (var sgd = torch.optim.SGD(model.parameters(), 0.1))
            TrainingLoop.Run(method, model, sgd, odd.Train, odd.Validation, Options(dropLast: false));
        using var two = MethodFactory.Data(130);   // last batch of two rows: batch norm can normalise it
        using (var model = WithBatchNorm())
        using (var method = MethodFactory.Make("erm", two, new SeedSource(0)))
        using (var sgd = torch.optim.SGD(model.parameters(), 0.1))
            TrainingLoop.Run(method, model, sgd, two.Train, two.Validation, Options(dropLast: false));
    }
}
