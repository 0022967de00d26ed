using System.Diagnostics;
using GroupRobust.Data;
using GroupRobust.Data.FashionMnist;
using GroupRobust.Evaluation;
using GroupRobust.Identification;
using GroupRobust.Losses;
using GroupRobust.Mixing;
using GroupRobust.Randomness;
using GroupRobust.Reweighting;
using GroupRobust.Study.Models;
using TorchSharp;
using static TorchSharp.torch;

namespace GroupRobust.Benchmarks;

/// <summary>
/// A long run through every method (ERM, JTT, JM1 input and random layer, c-MixUp, MixUp, GroupDRO, plus evaluation
/// every epoch) that prints, after each epoch, the thread's live native tensor count and the process RSS: both must be
/// flat after the first epoch.
/// </summary>
internal static class SoakBenchmark
{
    public static int Run(int epochs, int trainSize)
    {
        using var data = SpuriousFashionMnist.Load(new SpuriousFashionMnistOptions { TrainSize = trainSize, TestSize = 400, ValidationSize = 400 });
        var partition = new OracleIdentifier().Identify(data.Train);
        var rng = new ReproducibleRandom(0);
        torch.random.manual_seed(0);
        using var model = SmallCnn.Create(2, width: 8);
        using var opt = torch.optim.Adam(model.parameters(), 1e-3);
        var mixer = new ClassConditionalMixer(partition, rng);
        var cmix = new ClassConditionalMixer(partition, rng, new MixerOptions { Policy = PartnerPolicy.SameClass });
        var hidden = new MixedForwardPass(model, SmallCnn.RandomLayers, rng);
        var mixup = new StandardMixup(1, rng);
        using var dro = new GroupDroLoss(data.TrainGroupCounts());
        using var evaluator = new WorstGroupEvaluator(data.Scheme);
        var jtt = new JttReweighter(partition, 5, 1);
        var shuffle = new ShuffleSampler(data.Train.Count, 1);
        var balanced = new GroupBalancedSampler(GroupAssignment.FromTrueGroups(data.Train), 1);
        var schedule = AlphaSchedule.UniformThenBeta();
        var recorder = new ErrorSetRecorder(data.Train);

        DisposeScopeManager.Statistics.Reset();
        Console.WriteLine("| epoch | live tensors (thread) | RSS MB |");
        Console.WriteLine("|---:|---:|---:|");
        long firstLive = 0, firstRss = 0, maxLive = 0, maxRss = 0;
        for (int epoch = 0; epoch < epochs; epoch++)
        {
            void Run(IEnumerable<long> order, Func<Batch, Tensor> loss)
            {
                foreach (var batch in data.Train.Batches(order, 64))
                {
                    using var scope = NewDisposeScope();
                    opt.zero_grad();
                    loss(batch).backward();
                    opt.step();
                }
            }
            Run(shuffle.IndicesForEpoch(epoch), b =>
            {
                var logits = model.call(b.Inputs);
                recorder.Record(0, b, logits);   // one record, overwritten every epoch
                return nn.functional.cross_entropy(logits, b.Labels);
            });
            Run(jtt.IndicesForEpoch(epoch), b => nn.functional.cross_entropy(model.call(b.Inputs), b.Labels));
            foreach (var (m, layer) in new[] { (mixer, (string?)"input"), (mixer, null), (cmix, "input") })
            {
                Run(shuffle.IndicesForEpoch(epoch), b =>
                {
                    var plan = m.DrawPartners(b);
                    var partners = data.Train.GetBatch(plan.PartnerIndices);
                    var c = m.Coefficients(plan, schedule.Sample(epoch, epochs, rng), b.Inputs);
                    return nn.functional.cross_entropy(hidden.Run(b.Inputs, partners.Inputs, c, layer), b.Labels);
                });
                m.EndEpoch();
            }
            Run(shuffle.IndicesForEpoch(epoch), b =>
            {
                var d = mixup.Draw(b.Size);
                return StandardMixup.Loss(model.call(StandardMixup.Mix(b.Inputs, d)), b.Labels, d);
            });
            Run(balanced.IndicesForEpoch(epoch), b => dro.Forward(nn.functional.cross_entropy(model.call(b.Inputs), b.Labels, reduction: nn.Reduction.None), b.Groups!));
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
        recorder.Dispose();
        Console.WriteLine($"after epoch 1: {firstLive} live tensors, {firstRss} MB; max over epochs 2..{epochs}: {maxLive} live tensors, {maxRss} MB");
        bool flat = epochs < 2 || maxLive <= firstLive;
        Console.WriteLine(flat ? "live tensor count: flat" : "live tensor count: GREW");
        return flat ? 0 : 1;
    }
}
