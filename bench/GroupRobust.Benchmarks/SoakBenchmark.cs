using System.Diagnostics;
using GroupRobust.Data;
using GroupRobust.Data.FashionMnist;
using GroupRobust.Evaluation;
using GroupRobust.Identification;
using GroupRobust.Methods;
using GroupRobust.Mixing;
using GroupRobust.Randomness;
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
        torch.random.manual_seed(0);
        using var model = SmallCnn.Create(2, width: 8);
        using var opt = torch.optim.Adam(model.parameters(), 1e-3);
        using var evaluator = new WorstGroupEvaluator(data.Scheme);
        using var recorder = new ErrorSetRecorder(data.Train);
        var random = new Jm1Options { Layer = MixingLayer.Random(SmallCnn.RandomLayers) };
        ITrainingMethod[] methods =
        [
            new ErmMethod(data.Train, seeds), new JttMethod(oracle, 5, seeds), Jm1Method.Jm1(data.Train, oracle, seeds),
            Jm1Method.Jm1(data.Train, oracle, seeds, random), Jm1Method.Jm1Plus(data.Train, oracle, 3, seeds),
            Jm1Method.ClassConditionalMixup(data.Train, seeds), Jm1Method.UnconditionalJm1(data.Train, oracle, seeds), new MixupMethod(data.Train, seeds),
            new GroupDroMethod(truth, seeds), new GroupJm1Method(data.Train, truth, seeds, robustLoss: new GroupDroLoss(truth)), new CvarDroMethod(data.Train, seeds, 0.2),
        ];
        try
        {
            DisposeScopeManager.Statistics.Reset();
            Console.WriteLine("| epoch | live tensors (thread) | RSS MB |");
            Console.WriteLine("|---:|---:|---:|");
            long firstLive = 0, firstRss = 0, maxLive = 0, maxRss = 0;
            for (int epoch = 0; epoch < epochs; epoch++)
            {
                foreach (var method in methods)
                {
                    foreach (var batch in data.Train.Batches(method.BeginEpoch(epoch, epochs), 64))
                    {
                        using var scope = NewDisposeScope();
                        opt.zero_grad();
                        var loss = method.Loss(model, batch);
                        if (method is ErmMethod) recorder.Record(0, batch, model.call(batch.Inputs)); // one record, overwritten every epoch
                        loss.backward();
                        opt.step();
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
            foreach (var m in methods) m.Dispose();
        }
    }
}
