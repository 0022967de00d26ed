using System.Diagnostics;
using GroupRobust.Catalog;
using GroupRobust.Data.FashionMnist;
using GroupRobust.Evaluation;
using GroupRobust.Identification;
using GroupRobust.Methods;
using GroupRobust.Mixing;
using GroupRobust.Randomness;
using GroupRobust.Recipes;
using GroupRobust.Study.Models;
using GroupRobust.Training;
using Microsoft.Extensions.Logging;
using TorchSharp;
using static TorchSharp.torch;

namespace GroupRobust.Study;

/// <summary>
/// Runs every requested row for one seed through the library's recipes: phase I once (it is also the ERM row), each
/// identifier's groups once, each distinct run once, every run from the same initialisation.
/// </summary>
internal sealed class StudyRunner(StudyOptions options, FashionMnistFiles? files, ILoggerFactory loggers, WarningRecorder warnings, Action<string> progress, Action<string, EpochReport> onEpoch)
{
    private string? _rowGroups;   // " on X": the groups of the row in training, when they are not its method's published ones
    private string? _rowPrefix;   // the method's name before them, or null for the run's own ("JTT (λ=4)") when the spec names a variant

    /// <summary>AFR's grid in the Study: the reference's Waterbirds range for gamma (4 to 20) and lambda (0 to 0.3), thinned.</summary>
    internal static readonly AfrSearchOptions AfrGrid = new() { Gammas = [4, 6, 8, 10, 12, 14, 16, 18, 20], Lambdas = [0, 0.1, 0.2, 0.3], Steps = 300, LearningRate = 1e-2 };

    public (List<MethodResult> Results, List<IdentificationRecord> Identification, List<NoLabelRecord> NoLabels, List<RefusedRecord> Refused) Run(int seed)
    {
        var device = new Device(options.Device);   // "cpu", "cuda", "cuda:1", ... (checked by TorchBackend.EnsureDevice at start)
        warnings.Enter(seed, WarningRecorder.PhaseOneScope);   // what the data and phase I log; each identifier's and each row's own below
        var seeds = new SeedSource(seed);
        using var data = Data.StudyDatasets.Load(options, files, seed, device);
        loggers.CreateLogger("Study").LogInformation("Seed {Seed}: train groups [{Train}], validation {Val}, test {Test}", seed, string.Join(", ", data.TrainGroupCounts()), data.Validation.Count, data.Test.Count);
        using var evaluator = new WorstGroupEvaluator(data.Scheme, new EvaluatorOptions { BootstrapSeed = seed });
        // a run on another identifier's groups than its method's published ones names them in its progress lines and
        // TensorBoard folder ("JM1 on XRM cross-mistakes", "JTT (λ=4) on GCE-biased model's errors"), as its report row does
        var recipeOptions = options.Recipe(data, seed, (name, report) => onEpoch(_rowGroups is null ? name : (_rowPrefix ?? name) + _rowGroups, report));
        nn.Module<Tensor, Tensor> NewModel(long init)
        {
            torch.random.manual_seed(init);
            return StudyModels.Create(options.Backbone, data, options.Weights, device);
        }
        var recipe = new TwoPhaseRecipe(data, NewModel, p => torch.optim.Adam(p, options.LearningRate), seeds, recipeOptions, loggers);
        EvaluationResult Test(nn.Module<Tensor, Tensor> model) => evaluator.Evaluate(model, data.Test, batchSize: 500, trainGroupCounts: data.TrainGroupCounts());
        var (results, identification, noLabels, refused) = (new List<MethodResult>(), new List<IdentificationRecord>(), new List<NoLabelRecord>(), new List<RefusedRecord>());
        var rows = options.Methods.Select(StudyRow.Parse).ToList();
        bool joint = options.IdentificationRule == "joint";

        // the report merges the results of one name into one row: a row whose run is named like another row's is named for its spec
        var specOf = new Dictionary<string, string>(StringComparer.Ordinal);
        void Add(MethodResult result, string spec)
        {
            if (specOf.TryGetValue(result.Method, out var other) && other != spec)
            {
                progress($"{spec}: its run is named '{result.Method}' as {other}'s is; it is reported as '{result.Method} [{spec}]'");
                result = result with { Method = $"{result.Method} [{spec}]" };
            }
            specOf.TryAdd(result.Method, spec);
            results.Add(result with { Spec = spec });
        }

        var clock = Stopwatch.StartNew();
        using var phaseOne = rows.Any(r => r.Spec == "erm") ? recipe.TrainPhaseOne(options.Epochs) : null;
        if (phaseOne is not null) Add(MethodResult.Of(phaseOne.Run, phaseOne.Run.Name, seed, Test(phaseOne.Run.Model), clock.Elapsed.TotalSeconds), "erm");
        // each identifier's groups once: at every candidate T for the phase-I error set (the quality table), else at the chosen T
        var identified = new Dictionary<string, IdentifiedGroups>();
        IdentifiedGroups GroupsOf(IdentifierEntry id)
        {
            if (identified.TryGetValue(id.Key, out var known)) return known;
            // what an identifier logs is its own, not the row's that first needed it (rows on the same groups alike)
            var row = warnings.Current;
            warnings.Enter(seed, $"identification: {id.Name}");
            try
            {
                return identified[id.Key] = Identify(id);
            }
            finally
            {
                warnings.Enter(row.Seed, row.Scope);
            }
        }
        IdentifiedGroups Identify(IdentifierEntry id)
        {
            var passes = new IdentificationOptions();
            object? idOptions = id.Key switch
            {
                "misclassified" => passes,
                "spare" => new SpareOptions { Pass = passes },
                "gce-biased" => new BiasedModelOptions { BatchSize = options.BatchSize, Pass = passes },
                "bam" => new BamOptions { BatchSize = options.BatchSize, Pass = passes },
                "eiil" => new EiilOptions { Pass = passes },
                "xrm" => new XrmOptions { Steps = options.Epochs * data.Train.Count / options.BatchSize, BatchSize = options.BatchSize, Pass = passes },
                _ => null,
            };
            idOptions = options.Overrides.Apply(id.Key, idOptions);
            var g = id.Input != IdentifierInput.PhaseOneModel ? recipe.Identify(id, idOptions) : recipe.Identify(phaseOne!, id, idOptions,
                everyCandidate: joint || id == MethodCatalog.Misclassified || options.Identifiers.Contains(id.Key) || rows.Any(r => r.Groups == id && r.SearchesGridOnGroups));
            foreach (var (t, groups) in g.Candidates)
                identification.Add(new IdentificationRecord(seed, id.Name, t == 0 ? null : t, !joint && t == g.Epoch && t > 0, groups.MinorityCount, groups.Quality(data.Train)));
            if (id == MethodCatalog.Xrm) progress($"XRM: {g.Groups.MinorityCount} training cross-mistakes");
            return g;
        }
        if (phaseOne is not null) GroupsOf(MethodCatalog.Misclassified);
        GroupsOf(MethodCatalog.Oracle);
        foreach (var key in options.Identifiers) GroupsOf(MethodCatalog.Identifier(key));

        var runs = new Dictionary<string, (RecipeRun Run, MethodResult Result)>();   // runs a last-layer row may retrain
        (int T, TrainingHistory History, MethodResult Result)? jm1 = null;           // the main JM1 row's run: the no-labels row at its T is the same run
        try
        {
            foreach (var row in rows.Where(r => r.Spec != "erm"))
            {
                clock.Restart();
                warnings.Enter(seed, row.Spec);   // with the identification a row is the first to need
                if (row.LastLayer is { } lastLayer)
                {
                    if (lastLayer.HeldOutFraction > 0)
                    {
                        using var own = LastLayerRecipe.TrainAndRetrain(lastLayer, data, NewModel, p => torch.optim.Adam(p, options.LearningRate), seeds, recipeOptions,
                            options.Overrides.Apply(lastLayer.Key, lastLayer == MethodCatalog.Afr ? AfrGrid : null), loggers);
                        Add(MethodResult.OfLastLayer(own, lastLayer.Name, null, seed, evaluator.Evaluate(own.Model, data.Validation, batchSize: 500), Test(own.Model), clock.Elapsed.TotalSeconds, options.Epochs, progress), row.Spec);
                        continue;
                    }
                    (RecipeRun Run, MethodResult Result)? baseRun = row.Method is null ? null : runs.Remove(row.Base.Spec, out var cached) ? cached : Train(row.Base, recipe, GroupsOf, joint, seed, Test);
                    using var model = baseRun?.Run.TakeModel() ?? phaseOne!.FinalModel();   // the base run's selected epoch, or ERM's last
                    // CRT chooses its epoch on validation: by the Study's selection rule, as every other row
                    object? fitOptions = options.Overrides.Apply(lastLayer.Key, lastLayer.Defaults is CrtOptions crt ? crt with { Selection = options.SelectionRule() } : null);
                    using var retrained = LastLayerRecipe.Retrain(lastLayer, model, data.Train, data.Validation, seeds.Child(lastLayer.Key), fitOptions, featureBatchSize: 1000, loggers: loggers);
                    var result = MethodResult.OfLastLayer(retrained, $"{lastLayer.Name} ({baseRun?.Result.Method ?? "ERM"} backbone)", baseRun?.Result, seed, evaluator.Evaluate(model, data.Validation, batchSize: 500), Test(model), clock.Elapsed.TotalSeconds, options.Epochs, progress);
                    Add(result with { LabelsUsed = (Groups.LabelBudget)Math.Max((int)result.LabelsUsed, (int)(baseRun?.Result.LabelsUsed ?? 0)) }, row.Spec);
                    baseRun?.Run.Dispose();
                    continue;
                }
                RecipeRun run;
                MethodResult trained;
                int mark = warnings.Mark();
                try
                {
                    try
                    {
                        (run, trained) = Train(row, recipe, GroupsOf, joint, seed, Test);
                    }
                    catch (System.Runtime.InteropServices.ExternalException ex)
                    {
                        // TorchSharp's operators can fail natively at random: an implicitly converted Scalar (Adam's eps,
                        // an alpha of 1) has no keep-alive across its native call, so its finalizer can free it while
                        // libtorch still reads it ("Unknown scalar type", "toFloat"); seen in long runs of small models
                        // (docs/performance.md, "A native failure of TorchSharp"). A row depends only on its seeds, so
                        // training it again from the start gives the numbers of an uninterrupted run.
                        progress($"{row.Spec}: native failure in TorchSharp ({ex.Message.Split('\n')[0].Trim()}); training the row again from the start");
                        GC.Collect();
                        GC.WaitForPendingFinalizers();   // the finalizers' backlog drained before the second run
                        warnings.DiscardSince(mark);     // the second run logs its own
                        (run, trained) = Train(row, recipe, GroupsOf, joint, seed, Test);
                    }
                }
                catch (System.Runtime.InteropServices.ExternalException ex)
                {
                    refused.Add(new RefusedRecord(seed, row.Spec, $"TorchSharp failed natively twice: {ex.Message.Split('\n')[0].Trim()}"));
                    progress($"{row.Spec}: native failure again; the row is skipped on this seed");
                    continue;
                }
                catch (InvalidOperationException ex)
                {
                    // the library refused the run on this seed's data (JTT's automatic lambda on an error set that is most of
                    // a class, ...): a benchmark reports the refusal and goes on with the other rows
                    refused.Add(new RefusedRecord(seed, row.Spec, ex.Message));
                    progress($"{row.Spec}: refused: {ex.Message}");
                    continue;
                }
                Add(trained, row.Spec);
                if (!joint && row.Spec == "jm1" && run.IdentificationEpoch is int chosenT) jm1 = (chosenT, run.History, trained);
                if (rows.Any(r => r.LastLayer is not null && r.Method is not null && r.Base.Spec == row.Spec)) runs[row.Spec] = (run, trained);
                else run.Dispose();
            }
        }
        finally
        {
            foreach (var (run, _) in runs.Values) run.Dispose();
        }

        if (options.NoLabelsSection && phaseOne is not null && rows.Any(r => r.Method == MethodCatalog.Jm1))
        {
            // the JM1 paper's Table 4 protocol: no group labels anywhere; each fixed T, the epoch chosen by validation average accuracy; then T chosen by it too
            foreach (var t in phaseOne.Candidates)
            {
                warnings.Enter(seed, NoLabelRecord.FixedTName(t));
                if (jm1 is { } main && main.T == t && main.History.Epochs.All(e => e.OracleReference is not null))
                {
                    // the main JM1 row trained this very run (the same error set, seeds and options; the selection rule only
                    // picks an epoch afterwards): its epoch chosen by validation average accuracy, with the test result the
                    // loop recorded for that epoch, instead of training it again
                    var chosen = SelectionRule.AverageAccuracy.Best(main.History.ValidationHistory);
                    var atChosen = main.History.Epochs.First(e => e.Epoch == chosen.Epoch);
                    // the budget such a run reports: the identifier's at a fixed T and the selection's (average accuracy reads none)
                    var budget = (Groups.LabelBudget)Math.Max((int)GroupsOf(MethodCatalog.Misclassified).IdentifierLabelBudget, (int)SelectionRule.AverageAccuracy.BudgetOn(data.Validation));
                    noLabels.Add(new NoLabelRecord(seed, t, main.Result with
                    {
                        LabelsUsed = budget, Selection = SelectionRule.AverageAccuracy.Name, BestEpoch = chosen.Epoch, Test = atChosen.OracleReference!, Seconds = 0,   // reused, not trained
                    }));
                    progress($"JM1 at T = {t} without labels: the main JM1 run above is this run; its epoch {chosen.Epoch} by validation average accuracy (not trained twice)");
                    // its warnings are the main run's, but for the guards that read validation groups, which this row does not
                    warnings.Copy(seed, "jm1", NoLabelRecord.FixedTName(t), w => w.EventId is not (144 or 146 or 148));
                    continue;
                }
                clock.Restart();
                // the main row's options (the mixing flags and --set jm1.*), so that every T trains as the main run does
                var jm1Options = options.Overrides.Apply(MethodCatalog.Jm1.Key, options.MixingOptions(MethodCatalog.Jm1, null));
                using var run = recipe.Train(MethodCatalog.Jm1, GroupsOf(MethodCatalog.Misclassified), jm1Options, t, SelectionRule.AverageAccuracy);
                noLabels.Add(new NoLabelRecord(seed, t, MethodResult.Of(run, run.Name, seed, Test(run.Model), clock.Elapsed.TotalSeconds)));
            }
            if (phaseOne.Candidates.Count > 1)
            {
                // T chosen without labels as well: the fixed-T run of best validation average accuracy (what TrainJointly
                // returns under that rule, from the same runs), with that run's warnings
                var chosen = NoLabelRecord.ChooseT(noLabels);
                noLabels.Add(chosen);
                warnings.Copy(seed, NoLabelRecord.FixedTName(chosen.T), chosen.RowName, _ => true);
                progress($"JM1 without labels, T by validation average accuracy: T = {chosen.T}, epoch {chosen.Result.BestEpoch}");
            }
        }
        return (results, identification, noLabels, refused);
    }

    /// <summary>A training row: its groups (identified once), its options from the command line, T chosen by the rule or jointly.</summary>
    private (RecipeRun Run, MethodResult Result) Train(StudyRow row, TwoPhaseRecipe recipe, Func<IdentifierEntry, IdentifiedGroups> groupsOf, bool joint, int seed,
        Func<nn.Module<Tensor, Tensor>, EvaluationResult> test)
    {
        var clock = Stopwatch.StartNew();
        var method = row.Method!;
        var groups = row.Groups is null || row.Choices is not null ? null : groupsOf(row.Groups);
        object? methodOptions = method.Defaults switch
        {
            Jm1Options => options.MixingOptions(method, row.Layer),
            JttOptions => new JttOptions
            {
                Lambda = row.JttLambda switch
                {
                    null or "grid" => options.JttLambda,
                    "auto" => Sampling.JttReweighter.AutomaticLambda,
                    var n => int.Parse(n, System.Globalization.CultureInfo.InvariantCulture),
                },
            },
            _ => null,
        };
        methodOptions = options.Overrides.Apply(method.Key, methodOptions);
        string? choice = row.Choices is { } ids ? $"the best of {string.Join(", ", ids.Select(i => i.Name))}" : null;
        // a spec that names a lambda (or asks for it automatically or by grid) or a layer names its rows by the run, so that
        // rows differing only in those are rows of their own
        bool runNamed = row.JttLambda is not null || row.Layer is not null;
        _rowGroups = row.ExplicitGroups ? $" on {choice ?? row.Groups!.Name}" : null;
        _rowPrefix = runNamed ? null : method.Name;
        RecipeRun run;
        try
        {
            run = row.Choices is { } candidates
                ? recipe.TrainOnBestGroups(method, candidates.Select(groupsOf).ToList(), methodOptions, row.SeedName)
                : row.SearchesGridOnGroups
                ? recipe.TrainGrid(method, groups!, method.PublishedGrid, row.SeedName)
                : row.SearchGrid
                ? recipe.TrainGrid(method, method.PublishedGrid, row.SeedName)
                : joint && row.Groups?.Input == IdentifierInput.PhaseOneModel
                ? recipe.TrainJointly(method, groups!, methodOptions, row.SeedName)
                : recipe.Train(method, groups, methodOptions, name: row.SeedName);
        }
        finally
        {
            (_rowGroups, _rowPrefix) = (null, null);
        }
        // a row's name is the same on every seed: an automatic or searched lambda differs by seed (the run's own name says which)
        string name = row.JttLambda switch
        {
            "auto" => "JTT (automatic λ)",
            "grid" => groups!.Choice is null ? "JTT (λ by grid)" : "JTT (T and λ by grid)",
            _ when row.SearchGrid => $"{method.Name} (by grid)",
            _ => run.Name,
        };
        if (row.ExplicitGroups) name = $"{(runNamed ? name : method.Name)} on {choice ?? row.Groups!.Name}";
        if (row.JttLambda is not ("auto" or "grid") && !row.SearchGrid && choice is null) return (run, MethodResult.Of(run, name, seed, test(run.Model), clock.Elapsed.TotalSeconds));
        // a row whose run differs by seed (an automatic or searched lambda, searched options, a chosen identifier) records which run it was
        string runName = choice is null ? run.Name : $"{run.Name} on {run.Identifier}";
        progress($"{name}: the run was {runName}{(run.IdentificationEpoch is int t ? $" at T = {t}" : "")}");
        return (run, MethodResult.Of(run, name, seed, test(run.Model), clock.Elapsed.TotalSeconds) with { RunName = runName });
    }
}
