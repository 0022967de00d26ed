using System.Diagnostics;
using GroupRobust.Data;
using GroupRobust.Evaluation;
using GroupRobust.Study.Methods;
using TorchSharp;
using static TorchSharp.torch;

namespace GroupRobust.Study;

/// <summary>The study's training loop: the same for every method, which only supplies the epoch order and the loss.</summary>
internal static class Trainer
{
    public static MethodResult Train(IStudyMethod method, nn.Module<Tensor, Tensor> model, DatasetSplits data, WorstGroupEvaluator evaluator,
        StudyOptions options, int seed, Device device, Action<int, EvaluationResult, nn.Module<Tensor, Tensor>>? afterEpoch = null,
        Action<string>? progress = null)
    {
        using var optimizer = torch.optim.Adam(model.parameters(), options.LearningRate);
        var selector = new ModelSelector(SelectionCriterion.WorstGroupAccuracy);
        Dictionary<string, Tensor>? best = null;
        var clock = Stopwatch.StartNew();
        long seen = 0;
        try
        {
            for (int epoch = 0; epoch < options.Epochs; epoch++)
            {
                model.train();
                foreach (var batch in data.Train.Batches(method.EpochIndices(epoch), options.BatchSize))
                {
                    using var scope = NewDisposeScope();
                    optimizer.zero_grad();
                    method.Loss(model, batch, epoch, options.Epochs).backward();
                    optimizer.step();
                    seen += batch.Size;
                }
                method.EndEpoch(epoch);
                var val = evaluator.Evaluate(model, data.Validation, batchSize: 500);
                if (selector.Add(epoch + 1, val))
                {
                    DisposeAll(best);
                    best = Snapshot(model);
                }
                afterEpoch?.Invoke(epoch + 1, val, model);
                progress?.Invoke($"{method.Name}: epoch {epoch + 1}/{options.Epochs}, val avg {val.AverageAccuracy:P1}, worst {val.WorstGroupAccuracy:P1}");
            }
            model.load_state_dict(best!);
            var test = evaluator.Evaluate(model, data.Test, batchSize: 500, trainGroupCounts: data.TrainGroupCounts());
            return new MethodResult
            {
                Method = method.Name,
                Seed = seed,
                UsesTrainGroups = method.UsesTrainGroups,
                BestEpoch = selector.Best!.Epoch,
                ValidationHistory = selector.History,
                Test = test,
                Seconds = clock.Elapsed.TotalSeconds,
                SamplesSeen = seen,
            };
        }
        finally
        {
            DisposeAll(best);
        }
    }

    /// <summary>Detached copies of the model's parameters and buffers.</summary>
    public static Dictionary<string, Tensor> Snapshot(nn.Module model)
    {
        using var noGrad = torch.no_grad();
        return model.state_dict().ToDictionary(kv => kv.Key, kv => kv.Value.detach().clone().DetachFromDisposeScope());
    }

    public static void DisposeAll(Dictionary<string, Tensor>? state)
    {
        if (state is null) return;
        foreach (var t in state.Values) t.Dispose();
    }
}
