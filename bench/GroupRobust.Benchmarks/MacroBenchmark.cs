using System.Diagnostics;
using GroupRobust.Catalog;
using GroupRobust.Data;
using GroupRobust.Identification;
using GroupRobust.Methods;
using GroupRobust.Mixing;
using GroupRobust.Randomness;
using GroupRobust.Models;
using GroupRobust.Recipes;
using TorchSharp;
using static TorchSharp.torch;

namespace GroupRobust.Benchmarks;

/// <summary>
/// Time of one training epoch for ERM, JM1 (input, a hidden layer and the random layer, with exact, detached and in-batch partners),
/// JTT (lambda 50), GroupDRO, EIIL + GroupDRO, LfF and LISA, each through the library's method contract in the same
/// hand-written loop, and of the same ERM and JM1-input loops written in raw TorchSharp (<see cref="RawLoops"/>),
/// measured in one process with the rows interleaved within each repetition. Prints each row's ratio to the library's
/// ERM and the library's ERM and JM1 input against the raw loops (medians over repetitions, with min and max), the
/// time per step and per sample, and (optionally) the one-off costs of EIIL, XRM and DFR.
/// </summary>
internal static class MacroBenchmark
{
    /// <summary>The rows for text (token ids cannot be mixed at the input): the raw loop, ERM, JM1 at the output and at a random stage (exact and with paired batches), and the methods that do not mix.</summary>
    public static readonly string[] TextRows = ["raw-erm", "erm", "jm1:hidden", "jm1:hidden-paired", "jm1:random", "jm1:random-paired", "jtt", "groupdro"];

    /// <summary>
    /// The rows, in the order they run (the --methods keys): the raw TorchSharp loops, every training method of the catalog by its key (on its published groups; the
    /// oracle partition stands in for the error set), GroupDRO on EIIL's groups, and JM1's layer and partner variants.
    /// </summary>
    public static readonly string[] AllRows =
    [
        "raw-erm", "erm", "raw-jm1", "jm1", "jm1:hidden", "jm1:hidden-inbatch", "jm1:hidden-paired", "jm1:output", "jm1:output-paired",
        "jm1:random", "jm1:random-detached", "jm1:random-inbatch", "jm1:random-paired",
        .. MethodCatalog.Methods.Select(e => e.Key).Where(k => k is not ("erm" or "jm1")), "groupdro@eiil",
    ];

    public static void Run(MacroOptions options)
    {
        using var work = new MacroWorkload(options);
        var train = work.Train;
        var oracle = new OracleIdentifier().Identify(train);
        var seeds = new SeedSource(1);
        var rows = (options.Methods ?? (options.Model == "minilm" ? TextRows : AllRows)).Append("erm").Distinct().OrderBy(r => Array.IndexOf(AllRows, r)).ToArray();
        var hidden = work.Candidates[^1];
        // the exact rows name the paper's two passes explicitly (the default at these layers is paired batches)
        var random = new Jm1Options { Layer = MixingLayer.Random(work.Candidates.ToArray()), Partners = PartnerSource.Dataset };
        Console.WriteLine($"Macro benchmark: {options.Repetitions} repetitions of one epoch per row, {options.Model} ({options.Dtype}, " +
                          (options.Model == "small-cnn" ? "Spurious Fashion-MNIST 3 x 28 x 28" : options.Model == "minilm" ? $"random token batches of {options.ImageSize} tokens" : $"random images 3 x {options.ImageSize} x {options.ImageSize}") +
                          $") on {options.DeviceName}, train size {train.Count}, batch {options.BatchSize}, Adam, " +
                          $"{Environment.ProcessorCount} cores, torch threads {torch.get_num_threads()}; hidden layer '{hidden}', random layer over {string.Join(", ", work.Candidates)}.");

        GroupAssignment? eiil = rows.Contains("groupdro@eiil") ? EiilGroups(work, options, seeds) : null;
        using var raw = new RawLoops(train.Inputs, LabelTensor(train), oracle.MinorityMask(), train.Scheme.NumClasses);
        var truth = GroupAssignment.FromTrueGroups(train);
        MethodEntry EntryOf(string row) => MethodCatalog.Method(row.Split(':')[0].Split('@')[0]);
        ITrainingMethod Make(string row)
        {
            var entry = EntryOf(row);
            object? variant = row.Split(':') is [_, var v] ? v switch
            {
                "hidden" => new Jm1Options { Layer = MixingLayer.Named(hidden), Partners = PartnerSource.Dataset },
                "random" => random,
                "random-detached" => random with { DetachPartners = true },
                "hidden-inbatch" => new Jm1Options { Layer = MixingLayer.Named(hidden), Partners = PartnerSource.Batch },
                "random-inbatch" => random with { Partners = PartnerSource.Batch },
                "hidden-paired" => new Jm1Options { Layer = MixingLayer.Named(hidden), Partners = PartnerSource.Paired },
                "output" => new Jm1Options { Layer = MixingLayer.Output, Partners = PartnerSource.Dataset },
                "output-paired" => new Jm1Options { Layer = MixingLayer.Output, Partners = PartnerSource.Paired },
                "random-paired" => random with { Partners = PartnerSource.Paired },
                _ => throw new ArgumentException($"unknown variant {v}"),
            } : entry == MethodCatalog.Jtt ? new JttOptions { Lambda = 50 } : null;
            var groups = row.EndsWith("@eiil", StringComparison.Ordinal) ? eiil : entry.PublishedGroups == MethodCatalog.TrueGroups ? truth : oracle;
            return entry.Create(new MethodRequest { Train = train, Groups = entry.TakesGroups ? groups : null, Seeds = seeds, Options = variant });
        }
        var seconds = rows.ToDictionary(r => r, _ => new List<double>());
        var samples = rows.ToDictionary(r => r, _ => 0L);
        var steps = rows.ToDictionary(r => r, _ => 0L);
        for (int rep = -1; rep < options.Repetitions; rep++) // rep -1 warms up
        {
            foreach (var row in rows)
            {
                using var model = row.StartsWith("raw-", StringComparison.Ordinal) ? work.NewModel(0) : EntryOf(row).CreateModel(s => work.NewModel(s == seeds.Derive(MethodEntry.ModelInitStream) ? 0 : 1), seeds);
                using var opt = torch.optim.Adam(model.parameters(), 1e-3);
                work.Synchronize();
                var clock = Stopwatch.StartNew();
                long n, s;
                if (row.StartsWith("raw-", StringComparison.Ordinal))
                {
                    s = row == "raw-erm" ? raw.Erm(model, opt, options.BatchSize, rep + 10) : raw.Jm1Input(model, opt, options.BatchSize, rep + 10);
                    n = train.Count;
                    work.Synchronize();
                }
                else
                {
                    using var method = Make(row);
                    var step = EntryOf(row).Step;
                    s = 0;
                    foreach (var batch in train.Batches(method.BeginEpoch(Math.Max(rep, 0) + 1, options.Repetitions), options.BatchSize))
                    {
                        using var scope = NewDisposeScope();
                        step.Take(method, model, opt, batch);
                        s++;
                    }
                    work.Synchronize();
                    n = method.EndEpoch().Samples;
                }
                if (rep >= 0)
                {
                    seconds[row].Add(clock.Elapsed.TotalSeconds);
                    samples[row] = n;
                    steps[row] = s;
                }
            }
            if (rep >= 0) Console.WriteLine($"  repetition {rep + 1}: " + string.Join(", ", rows.Select(r => $"{Label(r, hidden)} {seconds[r][^1]:F2} s")));
        }

        var erm = seconds["erm"];
        double ermEpoch = Median(erm);
        Console.WriteLine();
        Console.WriteLine("| method | epoch s (median) | steps | ms / step | samples / epoch | ratio to ERM: median | min | max | ratio to the raw loop: median | min | max | s per 1k samples |");
        Console.WriteLine("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
        foreach (var row in rows)
        {
            double median = Median(seconds[row]);
            var (m, lo, hi) = Ratios(seconds[row], erm);
            string baseline = row switch { "erm" => "raw-erm", "jm1" => "raw-jm1", _ => "" };
            string vsRaw = baseline != "" && seconds.TryGetValue(baseline, out var b)
                ? string.Join(" | ", new[] { Ratios(seconds[row], b) }.Select(r => $"{r.Median:F3} | {r.Min:F3} | {r.Max:F3}"))
                : " | | ";
            Console.WriteLine($"| {Label(row, hidden)} | {median:F3} | {steps[row]} | {median / steps[row] * 1000:F2} | {samples[row]} | {m:F3} | {lo:F3} | {hi:F3} | {vsRaw} | {median / samples[row] * 1000:F3} |");
        }
        if (options.OneOff) OneOffCosts(work, options, seeds, ermEpoch);
    }

    private static string Label(string row, string hidden) => row switch
    {
        "raw-erm" => "raw TorchSharp ERM",
        "raw-jm1" => "raw TorchSharp JM1 input",
        "jm1" => "JM1 input",
        "jm1:hidden" => $"JM1 at {hidden}, two passes",
        "jm1:random" => "JM1 random layer, two passes",
        "jm1:random-detached" => "JM1 random layer, detached partners",
        "jm1:hidden-inbatch" => $"JM1 at {hidden}, in-batch partners",
        "jm1:random-inbatch" => "JM1 random layer, in-batch partners",
        "jm1:hidden-paired" => $"JM1 at {hidden}, paired partners",
        "jm1:output" => "JM1 output layer, two passes",
        "jm1:output-paired" => "JM1 output layer, paired partners",
        "jm1:random-paired" => "JM1 random layer, paired partners",
        "jtt" => "JTT lambda=50",
        "groupdro@eiil" => "GroupDRO on EIIL groups",
        _ => MethodCatalog.Method(row).Name,
    };

    private static Tensor LabelTensor(TensorGroupDataset train)
        => torch.tensor(train.Labels.ToArray().Select(l => (long)l).ToArray(), device: train.Device);

    /// <summary>EIIL's environments from an ERM reference model of one epoch, timed once (identification is not an epoch cost).</summary>
    private static GroupAssignment EiilGroups(MacroWorkload work, MacroOptions options, SeedSource seeds)
    {
        using var reference = work.NewModel(0);
        using var refOpt = torch.optim.Adam(reference.parameters(), 1e-3);
        using var refMethod = new ErmMethod(work.Train, seeds);
        foreach (var batch in work.Train.Batches(refMethod.BeginEpoch(1, 1), options.BatchSize))
        {
            using var scope = NewDisposeScope();
            refOpt.zero_grad();
            refMethod.Loss(reference, batch).backward();
            refOpt.step();
        }
        refMethod.EndEpoch();
        var clock = Stopwatch.StartNew();
        var groups = new EiilIdentifier(reference, seeds, new EiilOptions { Pass = new IdentificationOptions { BatchSize = 1000 } }).Identify(work.Train);
        Console.WriteLine($"EIIL environment inference (10,000 Adam steps over {work.Train.Count} samples, plus the reference pass): {clock.Elapsed.TotalSeconds:F2} s, once per run.");
        return groups;
    }

    /// <summary>
    /// One-off costs of the methods that are not epochs of a method: XRM's twins for one epoch's worth of steps plus the
    /// read-out, and DFR (features of train and validation, the C search and 20 resamples) on an untrained model.
    /// </summary>
    private static void OneOffCosts(MacroWorkload work, MacroOptions options, SeedSource seeds, double ermEpoch)
    {
        if (options.ScalarType != ScalarType.Float32)
        {
            Console.WriteLine("One-off costs (XRM, DFR) are timed in fp32 only; skipped.");
            return;
        }
        Console.WriteLine();
        var xrmClock = Stopwatch.StartNew();
        long twin = 10;
        int stepsPerEpoch = work.Train.Count / options.BatchSize;
        var xrm = new XrmIdentifier(() => work.NewModel(twin++), p => torch.optim.Adam(p, 1e-3), seeds,
            new XrmOptions { Steps = stepsPerEpoch, BatchSize = options.BatchSize, Pass = new IdentificationOptions { BatchSize = 1000 } }).Discover(work.Train, work.Validation);
        double xrmSeconds = xrmClock.Elapsed.TotalSeconds;
        using (var backbone = work.NewModel(0))
        {
            var dfrClock = Stopwatch.StartNew();
            using var trainFeatures = FeatureExtractor.Extract(backbone, work.Train, batchSize: 1000);
            using var valFeatures = FeatureExtractor.Extract(backbone, work.Validation, batchSize: 1000);
            Dfr.OnValidation(trainFeatures, valFeatures, seeds).Head.Load(backbone);
            double dfrSeconds = dfrClock.Elapsed.TotalSeconds;
            Console.WriteLine($"XRM, twins for one epoch of steps ({stepsPerEpoch}) + read-out of train and validation: {xrmSeconds:F2} s = {xrmSeconds / ermEpoch:F2} ERM epochs (flip rate {xrm.FlipRate:P1}).");
            Console.WriteLine($"DFR on {options.Model} (features of {work.Train.Count} + {work.Validation.Count} samples, 7 C values, 20 resamples): {dfrSeconds:F2} s = {dfrSeconds / ermEpoch:F2} ERM epochs.");
        }
        LastLayer(options.Device);
    }

    /// <summary>DFR's solver and the whole DFR fit on 5,000 x 2,048 features (ResNet-50's penultimate width), timed once each.</summary>
    public static void LastLayer(Device device)
    {
        using var scope = NewDisposeScope();
        using var generator = new torch.Generator(7);
        int n = 5000, d = 2048;
        var labels = torch.randint(0, 2, [n], generator: generator);
        var attributes = torch.randint(0, 2, [n], generator: generator);
        // features with a label direction and an attribute direction, as a trained backbone would give
        var x = (torch.randn([n, d], generator: generator) + labels.unsqueeze(1).to(ScalarType.Float32) * 0.5f + attributes.unsqueeze(1).to(ScalarType.Float32) * 0.3f).to(device);
        labels = labels.to(device);
        attributes = attributes.to(device);
        var scheme = GroupRobust.Groups.GroupScheme.Binary();
        using var train = new TensorGroupDataset(x, labels, scheme, attributes);
        using var validation = new TensorGroupDataset(x[..2000], labels[..2000], scheme, attributes[..2000]);
        var clock = Stopwatch.StartNew();
        var head = GroupRobust.Methods.L1LogisticRegression.Fit(x, labels, 2, 0.1);
        double solver = clock.Elapsed.TotalSeconds;
        clock.Restart();
        var dfr = GroupRobust.Methods.Dfr.OnValidation(train, validation, new SeedSource(0));
        double whole = clock.Elapsed.TotalSeconds;
        Console.WriteLine($"L1 logistic regression on {n} x {d} features (C = 0.1, {Environment.ProcessorCount} cores, {x.device}): {solver:F2} s; " +
                          $"DFR on 2,000 validation x {d} (7 values of C on 1,000 + 20 resamples): {whole:F2} s (C = {dfr.C}).");
    }

    /// <summary>Per-repetition ratios of <paramref name="row"/> to <paramref name="baseline"/>: median, min and max.</summary>
    internal static (double Median, double Min, double Max) Ratios(IReadOnlyList<double> row, IReadOnlyList<double> baseline)
    {
        var r = row.Zip(baseline, (a, b) => a / b).OrderBy(v => v).ToArray();
        return (Median(r), r[0], r[^1]);
    }

    internal static double Median(IEnumerable<double> values)
    {
        var v = values.OrderBy(x => x).ToArray();
        return v.Length % 2 == 1 ? v[v.Length / 2] : (v[v.Length / 2 - 1] + v[v.Length / 2]) / 2;
    }
}
