using GroupRobust.Data;
using GroupRobust.Evaluation;
using GroupRobust.Identification;
using GroupRobust.Methods;
using GroupRobust.Randomness;
using GroupRobust.Tests.Methods;
using GroupRobust.Tests.TestSupport;
using GroupRobust.Training;
using TorchSharp;
using static TorchSharp.torch;

namespace GroupRobust.Tests;

/// <summary>The suite's version of bench/run-soak.sh: epochs through every method of the library (through its contract), the in-loop recorder, evaluation and identification; the live tensor count stays flat after the first.</summary>
[Collection(LeakCollection.Name)]
public class SoakTests
{
    [Fact]
    public void Every_method_runs_epochs_without_growing_the_live_tensor_count()
    {
        using var data = MethodFactory.Data(256);
        using var model = MethodFactory.Model(0);
        using var opt = torch.optim.SGD(model.parameters(), 0.05);
        using var pair = MethodFactory.ModelFor("lff", 0);   // LfF trains its own two networks
        using var pairOpt = torch.optim.SGD(pair.parameters(), 0.05);
        using var evaluator = new WorstGroupEvaluator(data.Scheme, new EvaluatorOptions { BootstrapSamples = 20 });
        using var recorder = new ErrorSetRecorder(data.Train);
        var methods = MethodFactory.Kinds.Select(k => MethodFactory.Make(k, data, new SeedSource(1))).ToArray();
        var steps = MethodFactory.Kinds.Select(MethodFactory.StepOf).ToArray();   // SAM for the SAM entry
        try
        {
            int epoch = 0;
            LeakCheck.AssertFlat(() =>
            {
                foreach (var (method, step) in methods.Zip(steps))
                {
                    var (net, optimizer) = method is LffMethod ? (pair, pairOpt) : (model, opt);
                    foreach (var batch in data.Train.Batches(method.BeginEpoch(epoch % 6 + 1, 6), 32))
                    {
                        using var scope = NewDisposeScope();
                        step.Take(method, net, optimizer, batch);
                        if (method is ErmMethod) recorder.Record(1, batch, model.call(batch.Inputs));
                    }
                    method.EndEpoch();
                }
                evaluator.Evaluate(model, data.Validation);
                new MisclassificationIdentifier(model).Identify(data.Train);
                epoch++;
            }, warmup: 1, steps: 4);
        }
        finally
        {
            foreach (var m in methods) m.Dispose();
        }
    }
}
