using System.Diagnostics;
using GroupRobust.Data;
using GroupRobust.Data.FashionMnist;
using GroupRobust.Identification;
using GroupRobust.Methods;
using GroupRobust.Mixing;
using GroupRobust.Randomness;
using GroupRobust.Study.Models;
using TorchSharp;
using static TorchSharp.torch;

namespace GroupRobust.Benchmarks;

/// <summary>
/// Time of one training epoch on Spurious Fashion-MNIST for ERM, JM1 (input), JM1 (random layer), JTT (lambda 50),
/// GroupDRO, EIIL + GroupDRO, LfF and LISA (and EIIL's one-off inference time), each through the library's method contract in the same hand-written loop, measured in one process,
/// methods interleaved within each repetition; prints each method's ratio to ERM as the median over repetitions with
/// min and max, plus the time per sample seen.
/// </summary>
internal static class MacroBenchmark
{
    public static void Run(int repetitions, int trainSize)
    {
        using var data = SpuriousFashionMnist.Load(new SpuriousFashionMnistOptions { TrainSize = trainSize, Seed = 0 });
        var oracle = new OracleIdentifier().Identify(data.Train);
        var seeds = new SeedSource(1);
        var random = new MixingOptions { Layer = MixingLayer.Random(SmallCnn.RandomLayers) };
        // EIIL's environments from an ERM reference model of one epoch, timed once (identification is not an epoch cost)
        GroupAssignment eiil;
        double eiilSeconds;
        using (var reference = SmallCnn.Create(2))
        {
            using var refOpt = torch.optim.Adam(reference.parameters(), 1e-3);
            using var refMethod = new ErmMethod(data.Train, seeds);
            foreach (var batch in data.Train.Batches(refMethod.BeginEpoch(0, 1), 64))
            {
                using var scope = NewDisposeScope();
                refOpt.zero_grad();
                refMethod.Loss(reference, batch).backward();
                refOpt.step();
            }
            refMethod.EndEpoch();
            var eiilClock = Stopwatch.StartNew();
            eiil = new EiilIdentifier(reference, seeds, new EiilOptions { Pass = new IdentificationOptions { BatchSize = 1000 } }).Identify(data.Train);
            eiilSeconds = eiilClock.Elapsed.TotalSeconds;
        }
        var methods = new (string Name, Func<ITrainingMethod> Make)[]
        {
            ("ERM", () => new ErmMethod(data.Train, seeds)),
            ("JM1 input", () => MixingMethod.Jm1(data.Train, oracle, seeds)),
            ("JM1 random layer", () => MixingMethod.Jm1(data.Train, oracle, seeds, random)),
            ("JM1 random layer, detached partners", () => MixingMethod.Jm1(data.Train, oracle, seeds, random with { DetachPartners = true })),
            ("JTT lambda=50", () => new JttMethod(oracle, 50, seeds)),
            ("GroupDRO", () => new GroupDroMethod(GroupAssignment.FromTrueGroups(data.Train), seeds)),
            ("EIIL + GroupDRO", () => new GroupDroMethod(eiil, seeds)),
            ("LfF (two networks)", () => new LffMethod(data.Train, seeds)),
            ("LISA", () => new LisaMethod(data.Train, GroupAssignment.FromTrueGroups(data.Train), seeds)),
        };

        var seconds = methods.ToDictionary(m => m.Name, _ => new List<double>());
        var samples = methods.ToDictionary(m => m.Name, _ => 0L);
        Console.WriteLine($"EIIL environment inference (10,000 Adam steps over {data.Train.Count} samples, plus the reference pass): {eiilSeconds:F2} s, once per run.");
        Console.WriteLine($"Macro benchmark: {repetitions} repetitions of one epoch per method, train size {data.Train.Count}, batch 64, {Environment.ProcessorCount} cores, torch threads {torch.get_num_threads()}");
        for (int rep = -1; rep < repetitions; rep++) // rep -1 warms up
        {
            foreach (var (name, make) in methods)
            {
                torch.random.manual_seed(0);
                using var model = name.StartsWith("LfF", StringComparison.Ordinal) ? new LffModel(SmallCnn.Create(2), SmallCnn.Create(2)) : SmallCnn.Create(2);
                using var opt = torch.optim.Adam(model.parameters(), 1e-3);
                using var method = make();
                var clock = Stopwatch.StartNew();
                foreach (var batch in data.Train.Batches(method.BeginEpoch(Math.Max(rep, 0), Math.Max(repetitions, 1)), 64))
                {
                    using var scope = NewDisposeScope();
                    opt.zero_grad();
                    method.Loss(model, batch).backward();
                    opt.step();
                }
                var summary = method.EndEpoch();
                if (rep >= 0)
                {
                    seconds[name].Add(clock.Elapsed.TotalSeconds);
                    samples[name] = summary.Samples;
                }
            }
            if (rep >= 0) Console.WriteLine($"  repetition {rep + 1}: " + string.Join(", ", methods.Select(m => $"{m.Name} {seconds[m.Name][^1]:F2} s")));
        }

        var erm = seconds["ERM"];
        Console.WriteLine();
        Console.WriteLine("| method | epoch s (median) | samples / epoch | ratio to ERM: median | min | max | s per 1k samples |");
        Console.WriteLine("|---|---:|---:|---:|---:|---:|---:|");
        foreach (var (name, _) in methods)
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
