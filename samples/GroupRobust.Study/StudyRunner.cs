using GroupRobust.Data;
using GroupRobust.Data.FashionMnist;
using GroupRobust.Evaluation;
using GroupRobust.Groups;
using GroupRobust.Identification;
using GroupRobust.Methods;
using GroupRobust.Mixing;
using GroupRobust.Randomness;
using GroupRobust.Training;
using GroupRobust.Models;
using GroupRobust.Recipes;
using GroupRobust.Study.Models;
using Microsoft.Extensions.Logging;
using TorchSharp;
using static TorchSharp.torch;

namespace GroupRobust.Study;

/// <summary>Runs every requested method for one seed: phase I once (inside the ERM run), then each phase-II method from the same initialisation, all through the library's methods and its training loop.</summary>
internal sealed class StudyRunner(StudyOptions options, FashionMnistFiles? files, ILoggerFactory loggers, Action<string> progress)
{
    private readonly ILogger _log = loggers.CreateLogger("Study");

    public (List<MethodResult> Results, List<IdentificationRecord> Identification, List<NoLabelRecord> NoLabels) Run(int seed)
    {
        var device = new Device(options.Device);   // "cpu", "cuda", "cuda:1", ... (checked by TorchBackend.EnsureDevice at start)
        var seeds = new SeedSource(seed);
        using var data = Data.StudyDatasets.Load(options, files, seed, device);
        _log.LogInformation("Seed {Seed}: train groups [{Train}], validation {Val}, test {Test}", seed,
            string.Join(", ", data.TrainGroupCounts()), data.Validation.Count, data.Test.Count);
        using var evaluator = new WorstGroupEvaluator(data.Scheme, new EvaluatorOptions { BootstrapSeed = seed });
        // Every method that trains without training group labels gets a training split that has none.
        var ungrouped = data.Train.WithoutGroupLabels();
        var results = new List<MethodResult>();
        var identification = new List<IdentificationRecord>();
        var noLabels = new List<NoLabelRecord>();

        var candidates = new SortedDictionary<int, GroupAssignment>();
        var eiilCandidates = new SortedDictionary<int, GroupAssignment>();
        EpochChoice? choice = null;
        var idBudget = LabelBudget.None;
        if (options.Methods.Contains("erm"))
        {
            var snapshots = new List<(int Epoch, Dictionary<string, Tensor> State)>();
            try
            {
                using var model = NewModel(seeds, data, device);
                using var erm = new ErmMethod(ungrouped, seeds.Child("erm"));
                Dictionary<string, Tensor>? final = null;
                var ermResult = Train(erm, model, data, evaluator, seed, options.SelectionCriterion(), LabelBudget.None, null, report =>
                {
                    if (report.Epoch <= options.Phase1Epochs) snapshots.Add((report.Epoch, Snapshot(model)));
                    if (report.Epoch == options.Epochs && options.Methods.Contains("dfr")) final = Snapshot(model);
                });
                results.Add(ermResult);
                if (final is not null)
                {
                    // DFR retrains the last layer of the final ERM model (the reference's base model: the last checkpoint)
                    try
                    {
                        using var backbone = NewModel(seeds, data, device);
                        backbone.load_state_dict(final);
                        results.Add(RetrainLastLayer("DFR (ERM backbone)", ungrouped, backbone, data, evaluator, seeds.Child("dfr"), seed, LabelBudget.None, null));
                    }
                    finally
                    {
                        DisposeAll(final);
                    }
                }
                var phase1 = ermResult.ValidationHistory.Take(options.Phase1Epochs).ToList();
                var idLog = loggers.CreateLogger("Identification");
                (choice, idBudget) = options.IdentificationRule switch
                {
                    "worst-group" => (IdentificationEpoch.Choose(phase1, idLog, SelectionCriterion.WorstGroupAccuracy), LabelBudget.ValidationGroupsForSelection),
                    "average" => (IdentificationEpoch.Choose(phase1, idLog, SelectionCriterion.AverageAccuracy), LabelBudget.None),
                    // ORACLE: the minority groups from the training split's group counts
                    "oracle-f1" => (IdentificationEpoch.ChooseByValidationErrorSet(phase1, OracleIdentifier.MinorityGroupsOf(data.Train), idLog), LabelBudget.TrainingGroups),
                    "joint" => ((EpochChoice?)null, LabelBudget.ValidationGroupsForSelection),
                    // a phase I that classifies every validation group equally well (a tiny or easy dataset) leaves no
                    // minority group to detect: T by validation average accuracy then, and said so
                    _ when IdentificationEpoch.MinorityGroupsFromValidation(phase1).Count == 0 =>
                        (Warn(idLog, IdentificationEpoch.Choose(phase1, idLog, SelectionCriterion.AverageAccuracy)), LabelBudget.ValidationGroupsForSelection),
                    _ => (IdentificationEpoch.ChooseByValidationErrorSet(phase1, idLog), LabelBudget.ValidationGroupsForSelection),
                };
                using var probe = NewModel(seeds, data, device);
                foreach (var (epoch, state) in snapshots)
                {
                    probe.load_state_dict(state);
                    // identification reads no group label; the quality report compares with the true groups afterwards
                    var p = new MisclassificationIdentifier(probe, new IdentificationOptions { Epoch = epoch, BatchSize = 1000 }).Identify(ungrouped);
                    candidates[epoch] = p;
                    identification.Add(new IdentificationRecord(seed, "ERM misclassified", epoch, epoch == choice?.Epoch, p.MinorityCount, p.Quality(data.Train)));
                    if (options.Methods.Contains("eiil") && (choice is null || choice.Epoch == epoch))
                    {
                        // EIIL's reference model is phase I's ERM model at the same T; inference reads no group label
                        var e = new EiilIdentifier(probe, seeds.Child("eiil"), new EiilOptions { Pass = new IdentificationOptions { Epoch = epoch, BatchSize = 1000 } },
                            idLog).Identify(ungrouped);
                        eiilCandidates[epoch] = e;
                        identification.Add(new IdentificationRecord(seed, "EIIL environments", epoch, epoch == choice?.Epoch, e.MinorityCount, e.Quality(data.Train)));
                    }
                }
            }
            finally
            {
                foreach (var (_, state) in snapshots) DisposeAll(state);
            }
        }
        var oracle = new OracleIdentifier(logger: loggers.CreateLogger("Identification")).Identify(data.Train);
        identification.Add(new IdentificationRecord(seed, "oracle", null, false, oracle.MinorityCount, oracle.Quality(data.Train)));

        XrmResult? xrm = null;
        foreach (var name in options.Methods.Where(m => m is not ("erm" or "dfr")))
        {
            if (name == "afr")
            {
                results.Add(RunAfr(data, seeds, evaluator, seed));
                continue;
            }
            if (name is "xrm-groupdro" or "jm1-xrm")
            {
                if (xrm is null)
                {
                    xrm = DiscoverEnvironments(data, ungrouped, seeds.Child("xrm"));
                    identification.Add(new IdentificationRecord(seed, "XRM cross-mistakes", null, false, xrm.Train.MinorityCount, xrm.Train.Quality(data.Train)));
                }
                // no group labels at all: selection by worst-group accuracy on XRM's inferred validation groups
                using var inferredValidation = xrm.Validation!.ApplyTo(data.Validation);
                var run = RunMethod(name == "jm1-xrm" ? "jm1" : "eiil", data, ungrouped, xrm.Train, oracle, seeds, evaluator, seed, LabelBudget.None, null, inferredValidation, methodSeeds: name);
                results.Add(run with { Method = name == "jm1-xrm" ? "JM1 (XRM groups)" : "GroupDRO (XRM groups)" });
                continue;
            }
            bool usesErrorSet = StudyOptions.UsesPhase1(name);
            var pool = name == "eiil" ? eiilCandidates : candidates;
            if (usesErrorSet && choice is null)
            {
                // JTT's protocol: one phase-II run per candidate T, (T, epoch) chosen jointly on validation
                var runs = pool.ToDictionary(kv => kv.Key, kv => RunMethod(name, data, ungrouped, kv.Value, oracle, seeds, evaluator, seed, idBudget, kv.Key));
                var (t, _, _) = IdentificationEpoch.ChooseJointly(runs.ToDictionary(kv => kv.Key, kv => kv.Value.ValidationHistory), options.SelectionCriterion());
                results.Add(runs[t]);
                continue;
            }
            results.Add(RunMethod(name, data, ungrouped, usesErrorSet ? pool[choice!.Epoch] : null, oracle, seeds, evaluator, seed,
                usesErrorSet ? idBudget : LabelBudget.None, usesErrorSet ? choice!.Epoch : null));
        }

        if (options.NoLabelsSection && candidates.Count > 0 && options.Methods.Contains("jm1"))
        {
            // The paper's Table 4 protocol: no group labels anywhere. T from a fixed set, JM1 selected by validation average accuracy.
            foreach (var (t, errorSet) in candidates)
            {
                using var model = NewModel(seeds, data, device);
                using var method = Jm1Method.Jm1(ungrouped, errorSet, seeds.Child("jm1"), Jm1Options(), loggers.CreateLogger("Mixing"));
                var r = Train(method, model, data, evaluator, seed, SelectionCriterion.AverageAccuracy, LabelBudget.None, t, null);
                noLabels.Add(new NoLabelRecord(seed, t, r));
            }
        }
        return (results, identification, noLabels);
    }

    private MethodResult RunMethod(string name, DatasetSplits data, IGroupDataset ungrouped, GroupAssignment? identified, GroupAssignment oracle, SeedSource seeds,
        WorstGroupEvaluator evaluator, int seed, LabelBudget identificationBudget, int? t, IGroupDataset? validation = null, string? methodSeeds = null)
    {
        // every row starts from the same initialisation (seeds.Derive("model-init")); the method's streams come from its own child
        using var model = name == "lff" ? NewLffPair(seeds, data, data.Train.Device) : NewModel(seeds, data, data.Train.Device);
        // "dfr-jm1": JM1 at the same T, then DFR on its selected backbone
        using var method = Create(name == "dfr-jm1" ? "jm1" : name, data, ungrouped, identified, oracle, seeds.Child(methodSeeds ?? (name == "dfr-jm1" ? "jm1" : name)));
        var result = Train(method, model, data, evaluator, seed, options.SelectionCriterion(), identificationBudget, t, null, validation);
        if (name != "dfr-jm1") return result;
        var dfr = RetrainLastLayer("DFR (JM1 backbone)", ungrouped, model, data, evaluator, seeds.Child("dfr"), seed, result.LabelsUsed, t);
        // the backbone is JM1's selected epoch; the joint choice of T (and the plots) read the backbone's validation history
        return dfr with
        {
            BestEpoch = result.BestEpoch, Selection = result.Selection, ValidationHistory = result.ValidationHistory,
            Seconds = dfr.Seconds + result.Seconds, SamplesSeen = result.SamplesSeen,
        };
    }

    /// <summary>DFR on validation over <paramref name="backbone"/>'s features; the backbone's last layer is replaced.</summary>
    private MethodResult RetrainLastLayer(string name, IGroupDataset ungrouped, nn.Module<Tensor, Tensor> backbone, DatasetSplits data, WorstGroupEvaluator evaluator,
        SeedSource seeds, int seed, LabelBudget backboneBudget, int? t)
    {
        var clock = System.Diagnostics.Stopwatch.StartNew();
        // DFR reads the training features only for their mean and standard deviation: no training group labels
        using var trainFeatures = FeatureExtractor.Extract(backbone, ungrouped, batchSize: 1000);
        using var validationFeatures = FeatureExtractor.Extract(backbone, data.Validation, batchSize: 1000);
        var dfr = Dfr.OnValidation(trainFeatures, validationFeatures, seeds, logger: loggers.CreateLogger("DFR"));
        dfr.Head.Load(backbone);
        var validation = evaluator.Evaluate(backbone, data.Validation, batchSize: 500);
        var test = evaluator.Evaluate(backbone, data.Test, batchSize: 500, trainGroupCounts: data.TrainGroupCounts());
        progress($"{name}: C = {dfr.C}, {dfr.SamplesPerResample} validation samples per resample, test worst-group {test.WorstGroupAccuracy:P1}");
        return new MethodResult
        {
            Method = name, Seed = seed, LabelsUsed = (LabelBudget)Math.Max((int)dfr.LabelBudget, (int)backboneBudget), Selection = SelectionCriterion.WorstGroupAccuracy,
            IdentificationEpoch = t, OracleTestWorstGroup = null, BestEpoch = options.Epochs, ValidationHistory = [new EpochResult(options.Epochs, validation)],
            Test = test, Seconds = clock.Elapsed.TotalSeconds, SamplesSeen = 0,
        };
    }

    /// <summary>
    /// AFR: ERM on a random 80% of the training split (final epoch, as the reference), then the last layer retrained on the
    /// held-out 20% by <see cref="AfrSearch"/> (a reduced grid around the reference's Waterbirds grid; docs/results.md).
    /// </summary>
    private MethodResult RunAfr(DatasetSplits data, SeedSource root, WorstGroupEvaluator evaluator, int seed)
    {
        var clock = System.Diagnostics.Stopwatch.StartNew();
        var seeds = root.Child("afr");
        var rng = seeds.Random("split");
        var order = Enumerable.Range(0, data.Train.Count).Select(i => (long)i).ToArray();
        for (int i = order.Length - 1; i > 0; i--)
        {
            int j = rng.Next(i + 1);
            (order[i], order[j]) = (order[j], order[i]);
        }
        int cut = (int)(order.Length * 0.8);
        using var stage1 = new SubsetView(data.Train.WithoutGroupLabels(), order[..cut]);
        using var heldOut = new SubsetView(data.Train.WithoutGroupLabels(), order[cut..]);
        using var model = NewModel(root, data, data.Train.Device);   // the initialisation every row starts from
        using (var erm = new ErmMethod(stage1, seeds.Child("erm")))
        using (var optimizer = torch.optim.Adam(model.parameters(), options.LearningRate))
        {
            TrainingLoop.Run(erm, model, optimizer, stage1, data.Validation, new TrainingLoopOptions
            {
                Epochs = options.Epochs, BatchSize = options.BatchSize, EvaluationBatchSize = 500, RestoreBest = false,
                Selection = SelectionCriterion.AverageAccuracy, Evaluator = new EvaluatorOptions { BootstrapSamples = 0 },
            });
        }
        using var heldOutFeatures = FeatureExtractor.Extract(model, heldOut, batchSize: 1000);
        using var validationFeatures = FeatureExtractor.Extract(model, data.Validation, batchSize: 1000);
        var afr = AfrSearch.Run(heldOutFeatures, validationFeatures, LinearHead.Read(model), AfrGammas, AfrLambdas, seeds, AfrSteps, 1e-2, loggers.CreateLogger("AFR"));
        afr.Head.Load(model);
        var test = evaluator.Evaluate(model, data.Test, batchSize: 500, trainGroupCounts: data.TrainGroupCounts());
        progress($"AFR: gamma {afr.Gamma}, lambda {afr.Lambda}, step {afr.Step}, validation worst-group {afr.ValidationWorstGroup:P1}, test worst-group {test.WorstGroupAccuracy:P1}");
        return new MethodResult
        {
            Method = "AFR", Seed = seed, LabelsUsed = afr.LabelBudget, Selection = SelectionCriterion.WorstGroupAccuracy, BestEpoch = afr.Step,
            ValidationHistory = [new EpochResult(afr.Step, evaluator.Evaluate(model, data.Validation, batchSize: 500))], Test = test,
            Seconds = clock.Elapsed.TotalSeconds, SamplesSeen = (long)cut * options.Epochs,
        };
    }

    /// <summary>AFR's grid in the Study: the reference's Waterbirds range for gamma (4 to 20) and lambda (0 to 0.3), thinned.</summary>
    internal static readonly double[] AfrGammas = [4, 6, 8, 10, 12, 14, 16, 18, 20];
    internal static readonly double[] AfrLambdas = [0, 0.1, 0.2, 0.3];
    internal const int AfrSteps = 300;

    /// <summary>XRM's environments of the training and validation splits, from two twins of the backbone trained as long as the other methods.</summary>
    private XrmResult DiscoverEnvironments(DatasetSplits data, IGroupDataset ungrouped, SeedSource seeds)
    {
        int twin = 0;
        var xrm = new XrmIdentifier(
            () =>
            {
                torch.random.manual_seed(seeds.Derive($"twin-{twin++}"));
                return StudyModels.Create(options.Backbone, data, options.Weights, data.Train.Device);
            },
            parameters => torch.optim.Adam(parameters, options.LearningRate),
            seeds,
            new XrmOptions { Steps = options.Epochs * data.Train.Count / options.BatchSize, BatchSize = options.BatchSize, Pass = new IdentificationOptions { BatchSize = 1000 } },
            loggers.CreateLogger("XRM"));
        var result = xrm.Discover(ungrouped, data.Validation);
        progress($"XRM: flip rate {result.FlipRate:P1}, {result.Train.MinorityCount} training cross-mistakes{(result.Degenerate ? " (degenerate)" : "")}");
        return result;
    }

    private MethodResult Train(ITrainingMethod method, nn.Module<Tensor, Tensor> model, DatasetSplits data, WorstGroupEvaluator evaluator, int seed,
        SelectionCriterion selection, LabelBudget identificationBudget, int? t, Action<EpochReport>? afterEpoch, IGroupDataset? validation = null)
    {
        using var optimizer = torch.optim.Adam(model.parameters(), options.LearningRate);
        var clock = System.Diagnostics.Stopwatch.StartNew();
        var history = TrainingLoop.Run(method, model, optimizer, data.Train, validation ?? data.Validation,
            new TrainingLoopOptions
            {
                Epochs = options.Epochs, BatchSize = options.BatchSize, EvaluationBatchSize = 500, Selection = selection,
                Evaluator = new EvaluatorOptions { BootstrapSeed = seed }, OracleReference = data.Test,
            },
            new InlineProgress(report =>
            {
                afterEpoch?.Invoke(report);
                progress($"{method.Name}{(t is int e ? $" (T = {e})" : "")}: epoch {report.Epoch}/{report.TotalEpochs}, val avg {report.Validation.AverageAccuracy:P1}, worst {report.Validation.WorstGroupAccuracy:P1}");
            }),
            loggers.CreateLogger("Training"));
        var test = evaluator.Evaluate(model, data.Test, batchSize: 500, trainGroupCounts: data.TrainGroupCounts());
        return new MethodResult
        {
            Method = method.Name,
            Seed = seed,
            LabelsUsed = (LabelBudget)Math.Max((int)history.LabelBudget, (int)identificationBudget),
            Selection = history.Selection,
            IdentificationEpoch = t,
            OracleTestWorstGroup = history.OracleBest?.OracleReference?.WorstGroupAccuracy,
            BestEpoch = history.Best.Epoch,
            ValidationHistory = history.ValidationHistory,
            Test = test,
            Seconds = clock.Elapsed.TotalSeconds,
            SamplesSeen = history.Epochs.Sum(e => e.Method.Samples),
        };
    }

    /// <summary>JM1's options from the command line: layer, orientation, schedule, partner source and detaching.</summary>
    private Jm1Options Jm1Options() => new()
    {
        Layer = options.MixingLayer == "random" ? MixingLayer.Random(StudyModels.RandomLayers(options.Backbone)) : MixingLayer.Parse(options.MixingLayer),
        Orientation = options.Orientation,
        Schedule = options.Schedule(),
        Partners = options.Partners,
        DetachPartners = options.DetachPartners,
    };

    private ITrainingMethod Create(string name, DatasetSplits data, IGroupDataset ungrouped, GroupAssignment? identified, GroupAssignment oracle, SeedSource seeds)
    {
        var mixLog = loggers.CreateLogger("Mixing");
        var mixing = Jm1Options();
        return name switch
        {
            "jtt" => new JttMethod(identified!, options.JttLambda, seeds, loggers.CreateLogger("JTT")),
            "jm1" => Jm1Method.Jm1(ungrouped, identified!, seeds, mixing, mixLog),
            "jm1-random" => Jm1Method.Jm1(ungrouped, identified!, seeds, mixing with { Layer = MixingLayer.Random(StudyModels.RandomLayers(options.Backbone)) }, mixLog),
            "jm1-oracle" => Jm1Method.Jm1(data.Train, oracle, seeds, mixing, mixLog),
            "cmixup" => Jm1Method.ClassConditionalMixup(ungrouped, seeds, mixing with { Schedule = AlphaSchedule.Uniform() }, mixLog),
            "mixup" => new MixupMethod(ungrouped, seeds),
            "groupdro" => new GroupDroMethod(GroupAssignment.FromTrueGroups(data.Train), seeds, new GroupDroOptions(), logger: loggers.CreateLogger("GroupDRO")),
            "eiil" => new GroupDroMethod(identified!, seeds, new GroupDroOptions(), logger: loggers.CreateLogger("GroupDRO")),
            "lff" => new LffMethod(ungrouped, seeds, logger: loggers.CreateLogger("LfF")),
            "lisa" => new LisaMethod(data.Train, GroupAssignment.FromTrueGroups(data.Train), seeds, logger: mixLog),
            _ => throw new ArgumentException($"Unknown method {name}."),
        };
    }

    private nn.Module<Tensor, Tensor> NewModel(SeedSource seeds, DatasetSplits data, Device device)
    {
        torch.random.manual_seed(seeds.Derive("model-init"));
        return StudyModels.Create(options.Backbone, data, options.Weights, device);
    }

    /// <summary>
    /// LfF's two networks: the debiased one starts from the same initialisation as every other method's model, the
    /// biased one from its own seed.
    /// </summary>
    private LffModel NewLffPair(SeedSource seeds, DatasetSplits data, Device device)
    {
        var debiased = NewModel(seeds, data, device);
        torch.random.manual_seed(seeds.Derive("lff-biased-init"));
        var biased = StudyModels.Create(options.Backbone, data, options.Weights, device);
        return new LffModel(debiased, biased);
    }

    private static EpochChoice Warn(ILogger log, EpochChoice choice)
    {
        log.LogWarning("Phase I classifies every validation group equally well, so validation shows no minority group to detect; T = {Epoch} by validation average accuracy.", choice.Epoch);
        return choice;
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
