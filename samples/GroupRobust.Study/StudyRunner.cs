using GroupRobust.Data;
using GroupRobust.Data.FashionMnist;
using GroupRobust.Evaluation;
using GroupRobust.Identification;
using GroupRobust.Losses;
using GroupRobust.Mixing;
using GroupRobust.Randomness;
using GroupRobust.Methods;
using GroupRobust.Training;
using GroupRobust.Study.Models;
using Microsoft.Extensions.Logging;
using TorchSharp;
using static TorchSharp.torch;

namespace GroupRobust.Study;

/// <summary>Runs every requested method for one seed: phase I once (inside the ERM run), then each phase-II method from the same initialisation, all through the library's methods and its training loop.</summary>
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

        GroupAssignment? identified = null;
        if (options.Methods.Contains("erm"))
        {
            var snapshots = new List<(int Epoch, Dictionary<string, Tensor> State)>();
            try
            {
                using var model = NewModel(seeds, data, device);
                using var erm = new ErmMethod(data.Train, seeds.Child("erm"));
                results.Add(Train(erm, model, data, evaluator, seed, report =>
                {
                    if (report.Epoch <= options.Phase1Epochs) snapshots.Add((report.Epoch, Snapshot(model)));
                }));
                var phase1 = results[^1].ValidationHistory.Take(options.Phase1Epochs).ToList();
                var idLog = loggers.CreateLogger("Identification");
                var choice = options.IdentificationRule == "worst-group"
                    ? IdentificationEpoch.Choose(phase1, idLog)
                    : IdentificationEpoch.ChooseByValidationErrorSet(phase1, OracleIdentifier.MinorityGroupsOf(data.Train), idLog);
                using var probe = NewModel(seeds, data, device);
                foreach (var (epoch, state) in snapshots)
                {
                    probe.load_state_dict(state);
                    var p = new MisclassificationIdentifier(probe, new IdentificationOptions { Epoch = epoch, BatchSize = 1000 }).Identify(data.Train);
                    identification.Add(new IdentificationRecord(seed, "ERM misclassified", epoch, epoch == choice.Epoch, p.MinorityCount, p.Quality(data.Train)));
                    if (epoch == choice.Epoch) identified = p;
                }
            }
            finally
            {
                foreach (var (_, state) in snapshots) DisposeAll(state);
            }
        }
        var oracle = new OracleIdentifier(logger: loggers.CreateLogger("Identification")).Identify(data.Train);
        identification.Add(new IdentificationRecord(seed, "oracle", null, false, oracle.MinorityCount, oracle.Quality(data.Train)));

        foreach (var name in options.Methods.Where(m => m != "erm"))
        {
            using var model = NewModel(seeds, data, device);
            using var method = Create(name, data, identified, oracle, seeds.Child(name));
            results.Add(Train(method, model, data, evaluator, seed, null));
        }
        return (results, identification);
    }

    private MethodResult Train(ITrainingMethod method, nn.Module<Tensor, Tensor> model, DatasetSplits data, WorstGroupEvaluator evaluator, int seed,
        Action<EpochReport>? afterEpoch)
    {
        using var optimizer = torch.optim.Adam(model.parameters(), options.LearningRate);
        var clock = System.Diagnostics.Stopwatch.StartNew();
        var history = TrainingLoop.Run(method, model, optimizer, data.Train, data.Validation,
            new TrainingLoopOptions
            {
                Epochs = options.Epochs, BatchSize = options.BatchSize, EvaluationBatchSize = 500, Selection = SelectionCriterion.WorstGroupAccuracy,
                Evaluator = new EvaluatorOptions { BootstrapSeed = seed },
            },
            new InlineProgress(report =>
            {
                afterEpoch?.Invoke(report);
                progress($"{method.Name}: epoch {report.Epoch}/{report.TotalEpochs}, val avg {report.Validation.AverageAccuracy:P1}, worst {report.Validation.WorstGroupAccuracy:P1}");
            }),
            loggers.CreateLogger("Training"));
        var test = evaluator.Evaluate(model, data.Test, batchSize: 500, trainGroupCounts: data.TrainGroupCounts());
        return new MethodResult
        {
            Method = method.Name,
            Seed = seed,
            UsesTrainGroups = method.UsesTrainingGroupLabels,
            BestEpoch = history.Best.Epoch,
            ValidationHistory = history.ValidationHistory,
            Test = test,
            Seconds = clock.Elapsed.TotalSeconds,
            SamplesSeen = history.Epochs.Sum(e => e.Method.Samples),
        };
    }

    private ITrainingMethod Create(string name, DatasetSplits data, GroupAssignment? identified, GroupAssignment oracle, SeedSource seeds)
    {
        var mixLog = loggers.CreateLogger("Mixing");
        var layer = options.MixingLayer == "random" ? MixingLayer.Random(SmallCnn.RandomLayers) : MixingLayer.Parse(options.MixingLayer);
        var mixing = new MixingOptions { Orientation = options.Orientation, Schedule = options.Schedule(), Layer = layer };
        return name switch
        {
            "jtt" => new JttMethod(identified!, options.JttLambda, seeds, loggers.CreateLogger("JTT")),
            "jm1" => MixingMethod.Jm1(data.Train, identified!, seeds, mixing, mixLog),
            "jm1-random" => MixingMethod.Jm1(data.Train, identified!, seeds, mixing with { Layer = MixingLayer.Random(SmallCnn.RandomLayers) }, mixLog),
            "jm1-oracle" => MixingMethod.Jm1(data.Train, oracle, seeds, mixing, mixLog),
            "cmixup" => MixingMethod.ClassConditionalMixup(data.Train, seeds, mixing with { Schedule = AlphaSchedule.Uniform() }, mixLog),
            "mixup" => new MixupMethod(data.Train, seeds),
            "groupdro" => new GroupDroMethod(GroupAssignment.FromTrueGroups(data.Train), seeds, new GroupDroOptions(), logger: loggers.CreateLogger("GroupDRO")),
            _ => throw new ArgumentException($"Unknown method {name}."),
        };
    }

    private static nn.Module<Tensor, Tensor> NewModel(SeedSource seeds, DatasetSplits data, Device device)
    {
        torch.random.manual_seed(seeds.Derive("model-init"));
        var model = SmallCnn.Create(data.Scheme.NumClasses);
        return device.type == DeviceType.CPU ? model : model.to(device);
    }

    /// <summary>Detached copies of the model's parameters and buffers.</summary>
    private static Dictionary<string, Tensor> Snapshot(nn.Module model)
    {
        using var noGrad = torch.no_grad();
        return model.state_dict().ToDictionary(kv => kv.Key, kv => kv.Value.detach().clone().DetachFromDisposeScope());
    }

    private static void DisposeAll(Dictionary<string, Tensor> state)
    {
        foreach (var t in state.Values) t.Dispose();
    }

    /// <summary>Reports synchronously, on the training thread (Progress&lt;T&gt; would post to a synchronisation context).</summary>
    private sealed class InlineProgress(Action<EpochReport> report) : IProgress<EpochReport>
    {
        public void Report(EpochReport value) => report(value);
    }
}
