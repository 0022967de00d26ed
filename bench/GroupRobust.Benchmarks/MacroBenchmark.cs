using System.Diagnostics;
using GroupRobust.Data;
using GroupRobust.Data.FashionMnist;
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
/// Time of one training epoch on Spurious Fashion-MNIST for ERM, JM1 (input), JM1 (random layer), JTT (lambda 50) and
/// GroupDRO, measured in one process, methods interleaved within each repetition; prints each method's ratio to ERM as
/// the median over repetitions with min and max, plus JTT's time per sample seen.
/// </summary>
internal static class MacroBenchmark
{
    private delegate Tensor Step(nn.Module<Tensor, Tensor> model, Batch batch, int epoch);

    public static void Run(int repetitions, int trainSize)
    {
        var data = SpuriousFashionMnist.Load(new SpuriousFashionMnistOptions { TrainSize = trainSize, Seed = 0 });
        var partition = new OracleIdentifier().Identify(data.Train);
        var rng = new ReproducibleRandom(1);
        var mixer = new ClassConditionalMixer(partition, rng);
        var schedule = AlphaSchedule.UniformThenBeta();
        using var dro = new GroupDroLoss(data.TrainGroupCounts());
        var methods = new (string Name, IIndexSampler Sampler, Func<nn.Module<Tensor, Tensor>, Step> Make)[]
        {
            ("ERM", new ShuffleSampler(data.Train.Count, 1), _ => (m, b, e) => nn.functional.cross_entropy(m.call(b.Inputs), b.Labels)),
            ("JM1 input", new ShuffleSampler(data.Train.Count, 1), m => JM1(m, ["input"])),
            ("JM1 random layer", new ShuffleSampler(data.Train.Count, 1), m => JM1(m, SmallCnn.RandomLayers)),
            ("JM1 random layer, detached partners", new ShuffleSampler(data.Train.Count, 1), m => JM1(m, SmallCnn.RandomLayers, detach: true)),
            ("JTT lambda=50", new JttReweighter(partition, 50, 1), _ => (m, b, e) => nn.functional.cross_entropy(m.call(b.Inputs), b.Labels)),
            ("GroupDRO", new GroupBalancedSampler(GroupAssignment.FromTrueGroups(data.Train), 1), _ => (m, b, e) => dro.Forward(nn.functional.cross_entropy(m.call(b.Inputs), b.Labels, reduction: nn.Reduction.None), b.Groups!)),
        };

        Step JM1(nn.Module<Tensor, Tensor> model, string[] layers, bool detach = false)
        {
            var hidden = new MixedForwardPass(model, layers, rng, detachPartners: detach);
            return (m, b, e) =>
            {
                var plan = mixer.DrawPartners(b);
                var partners = data.Train.GetBatch(plan.PartnerIndices);
                var c = mixer.Coefficients(plan, schedule.Sample(e % 4, 4, rng), b.Inputs);
                return nn.functional.cross_entropy(hidden.Run(b.Inputs, partners.Inputs, c), b.Labels);
            };
        }

        var seconds = methods.ToDictionary(m => m.Name, _ => new List<double>());
        var samples = methods.ToDictionary(m => m.Name, m => m.Sampler.EpochLength);
        Console.WriteLine($"Macro benchmark: {repetitions} repetitions of one epoch per method, train size {data.Train.Count}, batch 64, {Environment.ProcessorCount} cores, torch threads {torch.get_num_threads()}");
        for (int rep = -1; rep < repetitions; rep++) // rep -1 warms up
        {
            foreach (var (name, sampler, make) in methods)
            {
                torch.random.manual_seed(0);
                using var model = SmallCnn.Create(2);
                using var opt = torch.optim.Adam(model.parameters(), 1e-3);
                var step = make(model);
                var clock = Stopwatch.StartNew();
                foreach (var batch in data.Train.Batches(sampler.IndicesForEpoch(Math.Max(rep, 0)), 64))
                {
                    using var scope = NewDisposeScope();
                    opt.zero_grad();
                    step(model, batch, Math.Max(rep, 0)).backward();
                    opt.step();
                }
                if (rep >= 0) seconds[name].Add(clock.Elapsed.TotalSeconds);
                mixer.EndEpoch();
            }
            if (rep >= 0) Console.WriteLine($"  repetition {rep + 1}: " + string.Join(", ", methods.Select(m => $"{m.Name} {seconds[m.Name][^1]:F2} s")));
        }

        var erm = seconds["ERM"];
        Console.WriteLine();
        Console.WriteLine("| method | epoch s (median) | samples / epoch | ratio to ERM: median | min | max | s per 1k samples |");
        Console.WriteLine("|---|---:|---:|---:|---:|---:|---:|");
        foreach (var (name, _, _) in methods)
        {
            var ratios = seconds[name].Zip(erm, (a, b) => a / b).OrderBy(v => v).ToArray();
            double median = Median(seconds[name]);
            Console.WriteLine($"| {name} | {median:F2} | {samples[name]} | {Median(ratios):F3} | {ratios[0]:F3} | {ratios[^1]:F3} | {median / samples[name] * 1000:F3} |");
        }
    }

    private static double Median(IEnumerable<double> values)
    {
        var v = values.OrderBy(x => x).ToArray();
        return v.Length % 2 == 1 ? v[v.Length / 2] : (v[v.Length / 2 - 1] + v[v.Length / 2]) / 2;
    }
}
