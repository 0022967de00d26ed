using System.Diagnostics;
using GroupRobust.Catalog;
using GroupRobust.Data;
using GroupRobust.Data.FashionMnist;
using GroupRobust.Evaluation;
using GroupRobust.Identification;
using GroupRobust.Methods;
using GroupRobust.Mixing;
using GroupRobust.Randomness;
using GroupRobust.Training;
using GroupRobust.Study.Models;
using TorchSharp;
using static TorchSharp.torch;

namespace GroupRobust.Benchmarks;

/// <summary>
/// A long run through every method of the library (ERM with the in-loop error-set recorder, JTT, JM1 at the input and
/// at a random layer, JM1+, c-MixUp, unconditional JM1, MixUp, GroupDRO, GroupJM1, CVaR-DRO, plus evaluation every
/// epoch) that prints, after each epoch, the thread's live native tensor count and the process RSS: both must be flat
/// after the first epoch.
/// </summary>
internal static class SoakBenchmark
{
    public static int Run(int epochs, int trainSize)
    {
        using var data = SpuriousFashionMnist.Load(new SpuriousFashionMnistOptions { TrainSize = trainSize, TestSize = 400, ValidationSize = 400 });
        var oracle = new OracleIdentifier().Identify(data.Train);
        var truth = GroupAssignment.FromTrueGroups(data.Train);
        var seeds = new SeedSource(0);
        nn.Module<Tensor, Tensor> NewModel(long seed)
        {
            torch.random.manual_seed(seed);
            return SmallCnn.Create(2, width: 8);
        }
        using var model = NewModel(0);
        using var evaluator = new WorstGroupEvaluator(data.Scheme);
        using var recorder = new ErrorSetRecorder(data.Train);
        // every training method of the catalog, on its published groups (the oracle partition stands in for the error set),
        // with its published optimizer step, and JM1 at a random layer as well
        var runs = MethodCatalog.Methods.Select(e => (Entry: e, Options: (object?)null))
            .Append((MethodCatalog.Jm1, new Jm1Options { Layer = MixingLayer.Random(SmallCnn.RandomLayers) }))
            .Select((Func<(MethodEntry Entry, object? Options), (ITrainingMethod Method, nn.Module<Tensor, Tensor> Model, TorchSharp.Modules.OptimizerHelper Optimizer, OptimizerStep Step)>)(r =>
            {
                var groups = r.Entry.PublishedGroups == MethodCatalog.TrueGroups ? truth : oracle;
                var method = r.Entry.Create(new MethodRequest { Train = data.Train, Groups = r.Entry.TakesGroups ? groups : null, Seeds = seeds, Options = r.Options });
                var net = r.Entry.BuildsItsModel ? r.Entry.CreateModel(NewModel, seeds) : model;
                return (method, net, torch.optim.Adam(net.parameters(), 1e-3), r.Entry.Step);
            })).ToArray();
        var methods = runs.Select(r => r.Method).ToArray();
        try
        {
            DisposeScopeManager.Statistics.Reset();
            Console.WriteLine("| epoch | live tensors (thread) | RSS MB |");
            Console.WriteLine("|---:|---:|---:|");
            long firstLive = 0, firstRss = 0, maxLive = 0, maxRss = 0;
            for (int epoch = 0; epoch < epochs; epoch++)
            {
                foreach (var (method, net, optimizer, step) in runs)
                {
                    foreach (var batch in data.Train.Batches(method.BeginEpoch(epoch + 1, epochs), 64))
                    {
                        using var scope = NewDisposeScope();
                        step.Take(method, net, optimizer, batch);
                        if (method is ErmMethod) recorder.Record(1, batch, model.call(batch.Inputs)); // one record, overwritten every epoch
                    }
                    method.EndEpoch();
                }
                evaluator.Evaluate(model, data.Validation);
                GC.Collect();
                GC.WaitForPendingFinalizers();
                long live = DisposeScopeManager.Statistics.ThreadTotalLiveCount;
                var process = Process.GetCurrentProcess();
                process.Refresh();
                long rss = process.WorkingSet64 / 1_000_000;
                Console.WriteLine($"| {epoch + 1} | {live} | {rss} |");
                if (epoch == 0) (firstLive, firstRss) = (live, rss);
                else (maxLive, maxRss) = (Math.Max(maxLive, live), Math.Max(maxRss, rss));
            }
            Console.WriteLine($"after epoch 1: {firstLive} live tensors, {firstRss} MB; max over epochs 2..{epochs}: {maxLive} live tensors, {maxRss} MB");
            bool flat = epochs < 2 || maxLive <= firstLive;
            Console.WriteLine(flat ? "live tensor count: flat" : "live tensor count: GREW");
            return flat ? 0 : 1;
        }
        finally
        {
            foreach (var (method, net, optimizer, _) in runs)
            {
                method.Dispose();
                optimizer.Dispose();
                if (!ReferenceEquals(net, model)) net.Dispose();
            }
        }
    }
}
