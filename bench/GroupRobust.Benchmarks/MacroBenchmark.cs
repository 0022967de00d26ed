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
        double ermEpoch = Median(erm);

        // One-off costs of the methods that are not epochs of a method: XRM's twins for one epoch's worth of steps plus
        // the read-out, and DFR (features of train and validation, the C search and 20 resamples) on a trained model.
        var xrmClock = Stopwatch.StartNew();
        int twin = 0;
        var xrm = new XrmIdentifier(() => { torch.random.manual_seed(10 + twin++); return SmallCnn.Create(2); }, p => torch.optim.Adam(p, 1e-3), seeds,
            new XrmOptions { Steps = data.Train.Count / 64, BatchSize = 64, Pass = new IdentificationOptions { BatchSize = 1000 } }).Discover(data.Train, data.Validation);
        double xrmSeconds = xrmClock.Elapsed.TotalSeconds;
        double dfrSeconds;
        using (var backbone = SmallCnn.Create(2))
        {
            var dfrClock = Stopwatch.StartNew();
            using var trainFeatures = GroupRobust.Retraining.FeatureExtractor.Extract(backbone, data.Train, batchSize: 1000);
            using var valFeatures = GroupRobust.Retraining.FeatureExtractor.Extract(backbone, data.Validation, batchSize: 1000);
            GroupRobust.Retraining.Dfr.OnValidation(trainFeatures, valFeatures, seeds).Head.Load(backbone);
            dfrSeconds = dfrClock.Elapsed.TotalSeconds;
        }
        Console.WriteLine();
        Console.WriteLine($"XRM, twins for one epoch of steps ({data.Train.Count / 64}) + read-out of train and validation: {xrmSeconds:F2} s = {xrmSeconds / ermEpoch:F2} ERM epochs (flip rate {xrm.FlipRate:P1}).");
        Console.WriteLine($"DFR on the small CNN (features of {data.Train.Count} + {data.Validation.Count} images, 7 C values, 20 resamples): {dfrSeconds:F2} s = {dfrSeconds / ermEpoch:F2} ERM epochs.");
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

    /// <summary>DFR's solver and the whole DFR fit on 5,000 x 2,048 features (ResNet-50's penultimate width), timed once each.</summary>
    public static void LastLayer()
    {
        using var scope = NewDisposeScope();
        using var generator = new torch.Generator(7);
        int n = 5000, d = 2048;
        var labels = torch.randint(0, 2, [n], generator: generator);
        var attributes = torch.randint(0, 2, [n], generator: generator);
        // features with a label direction and an attribute direction, as a trained backbone would give
        var x = torch.randn([n, d], generator: generator) + labels.unsqueeze(1).to(ScalarType.Float32) * 0.5f + attributes.unsqueeze(1).to(ScalarType.Float32) * 0.3f;
        var scheme = GroupRobust.Groups.GroupScheme.Binary();
        using var train = new TensorGroupDataset(x, labels, scheme, attributes);
        using var validation = new TensorGroupDataset(x[..2000], labels[..2000], scheme, attributes[..2000]);
        var clock = Stopwatch.StartNew();
        var head = GroupRobust.Retraining.L1LogisticRegression.Fit(x, labels, 2, 0.1);
        double solver = clock.Elapsed.TotalSeconds;
        clock.Restart();
        var dfr = GroupRobust.Retraining.Dfr.OnValidation(train, validation, new SeedSource(0));
        double whole = clock.Elapsed.TotalSeconds;
        Console.WriteLine($"L1 logistic regression on {n} x {d} features (C = 0.1, {Environment.ProcessorCount} cores, {x.device}): {solver:F2} s; " +
                          $"DFR on 2,000 validation x {d} (7 values of C on 1,000 + 20 resamples): {whole:F2} s (C = {dfr.C}).");
    }

    private static double Median(IEnumerable<double> values)
    {
        var v = values.OrderBy(x => x).ToArray();
        return v.Length % 2 == 1 ? v[v.Length / 2] : (v[v.Length / 2 - 1] + v[v.Length / 2]) / 2;
    }
}
