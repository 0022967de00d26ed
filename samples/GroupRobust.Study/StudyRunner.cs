using GroupRobust.Data;
using GroupRobust.Data.FashionMnist;
using GroupRobust.Evaluation;
using GroupRobust.Identification;
using GroupRobust.Losses;
using GroupRobust.Mixing;
using GroupRobust.Randomness;
using GroupRobust.Reweighting;
using GroupRobust.Study.Methods;
using GroupRobust.Study.Models;
using Microsoft.Extensions.Logging;
using TorchSharp;
using static TorchSharp.torch;

namespace GroupRobust.Study;

/// <summary>Runs every requested method for one seed: phase I once (inside the ERM run), then each phase-II method from the same initialisation.</summary>
internal sealed class StudyRunner(StudyOptions options, FashionMnistFiles files, ILoggerFactory loggers, Action<string> progress)
{
    private readonly ILogger _log = loggers.CreateLogger("Study");

    public (List<MethodResult> Results, List<IdentificationRecord> Identification) Run(int seed)
    {
        var device = options.Device == "cuda" ? CUDA : CPU;
        var seeds = new SeedSource(seed);
        var dataOptions = new SpuriousFashionMnistOptions
        {
            DataDirectory = options.DataDirectory, TrainSize = options.TrainSize, SpuriousCorrelation = options.Correlation, Seed = seed,
        };
        if (options.Label0Classes is not null) dataOptions = dataOptions with { Label0Classes = options.Label0Classes };
        if (options.Label1Classes is not null) dataOptions = dataOptions with { Label1Classes = options.Label1Classes };
        using var data = SpuriousFashionMnist.Build(files, dataOptions, device);
        _log.LogInformation("Seed {Seed}: train groups [{Train}], validation {Val}, test {Test}", seed,
            string.Join(", ", data.TrainGroupCounts()), data.Validation.Count, data.Test.Count);
        using var evaluator = new WorstGroupEvaluator(data.Scheme, new EvaluatorOptions { BootstrapSeed = seed });
        var results = new List<MethodResult>();
        var identification = new List<IdentificationRecord>();

        Partition? identified = null;
        if (options.Methods.Contains("erm"))
        {
            var snapshots = new List<(int Epoch, Dictionary<string, Tensor> State)>();
            try
            {
                using var model = NewModel(seeds, data, device);
                var erm = Trainer.Train(new ErmMethod(data.Train.Count, seeds.Derive("erm-order")), model, data, evaluator, options, seed, device,
                    afterEpoch: (epoch, _, m) => { if (epoch <= options.Phase1Epochs) snapshots.Add((epoch, Trainer.Snapshot(m))); },
                    progress: progress);
                results.Add(erm);
                var phase1 = erm.ValidationHistory.Take(options.Phase1Epochs).ToList();
                var idLog = loggers.CreateLogger("Identification");
                var choice = options.IdentificationRule == "worst-group"
                    ? IdentificationEpoch.Choose(phase1, idLog)
                    : IdentificationEpoch.ChooseByValidationErrorSet(phase1, OracleIdentifier.MinorityGroupsOf(data.Train), idLog);
                using var probe = NewModel(seeds, data, device);
                foreach (var (epoch, state) in snapshots)
                {
                    probe.load_state_dict(state);
                    var p = new MisclassificationIdentifier(probe, new IdentificationOptions { Epoch = epoch, BatchSize = 1000 }).Identify(data.Train);
                    identification.Add(new IdentificationRecord(seed, "ERM misclassified", epoch, epoch == choice.Epoch, p.ErrorCount, p.Quality(data.Train)));
                    if (epoch == choice.Epoch) identified = p;
                }
            }
            finally
            {
                foreach (var (_, state) in snapshots) Trainer.DisposeAll(state);
            }
        }
        var oracle = new OracleIdentifier(logger: loggers.CreateLogger("Identification")).Identify(data.Train);
        identification.Add(new IdentificationRecord(seed, "oracle", null, false, oracle.ErrorCount, oracle.Quality(data.Train)));

        foreach (var name in options.Methods.Where(m => m != "erm"))
        {
            using var model = NewModel(seeds, data, device);
            var method = Create(name, data, identified, oracle, seeds);
            try
            {
                results.Add(Trainer.Train(method, model, data, evaluator, options, seed, device, progress: progress));
            }
            finally
            {
                (method as IDisposable)?.Dispose();
            }
        }
        return (results, identification);
    }

    private IStudyMethod Create(string name, DatasetSplits data, Partition? identified, Partition oracle, SeedSource seeds)
    {
        var mixLog = loggers.CreateLogger("Mixing");
        var mixOptions = new MixerOptions { Orientation = options.Orientation };
        var rng = seeds.Random(name);
        long order = seeds.Derive(name + "-order");
        string[] chosenLayer = options.MixingLayer == "random" ? SmallCnn.RandomLayers : [options.MixingLayer];
        string layerName = options.MixingLayer == "random" ? "random layer" : options.MixingLayer;
        return name switch
        {
            "jtt" => new JttMethod(new JttReweighter(identified!, options.JttLambda, order, loggers.CreateLogger("JTT"))),
            "jm1" => new MixingMethod($"JM1 ({layerName})", false, data.Train, new ClassConditionalMixer(identified!, rng, mixOptions, mixLog),
                options.Schedule(), chosenLayer, rng, order),
            "jm1-random" => new MixingMethod("JM1 (random layer)", false, data.Train, new ClassConditionalMixer(identified!, rng, mixOptions, mixLog),
                options.Schedule(), SmallCnn.RandomLayers, rng, order),
            "jm1-oracle" => new MixingMethod($"JM1 oracle ({layerName})", true, data.Train, new ClassConditionalMixer(oracle, rng, mixOptions, mixLog),
                options.Schedule(), chosenLayer, rng, order),
            "cmixup" => new MixingMethod("c-MixUp", false, data.Train,
                new ClassConditionalMixer(Partition.FromMask(new bool[data.Train.Count], data.Train, "none"), rng, mixOptions with { Policy = PartnerPolicy.SameClass }, mixLog),
                AlphaSchedule.Uniform(), ["input"], rng, order),
            "mixup" => new MixupMethod(data.Train.Count, rng, order),
            "groupdro" => new GroupDroMethod(data.Train, new GroupDroLoss(data.TrainGroupCounts(), new GroupDroOptions(), loggers.CreateLogger("GroupDRO"), data.Train.Device), order),
            _ => throw new ArgumentException($"Unknown method {name}."),
        };
    }

    private static nn.Module<Tensor, Tensor> NewModel(SeedSource seeds, DatasetSplits data, Device device)
    {
        torch.random.manual_seed(seeds.Derive("model-init"));
        var model = SmallCnn.Create(data.Scheme.NumClasses);
        return device.type == DeviceType.CPU ? model : model.to(device);
    }
}
