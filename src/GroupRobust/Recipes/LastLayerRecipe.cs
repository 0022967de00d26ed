using GroupRobust.Catalog;
using GroupRobust.Data;
using GroupRobust.Evaluation;
using GroupRobust.Groups;
using GroupRobust.Internal;
using GroupRobust.Models;
using GroupRobust.Randomness;
using GroupRobust.Training;
using Microsoft.Extensions.Logging;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace GroupRobust.Recipes;

/// <summary>
/// Last-layer retraining as a recipe (DFR, AFR, the CRT family from the catalog): features of the data the method reads, the new
/// final linear layer fitted on them (<see cref="LastLayerEntry.Fit"/>) and put on the model. <see cref="Retrain"/>
/// works on a model you trained; <see cref="TrainAndRetrain"/> also trains the base model the way the method's reference
/// does (ERM on all but the held-out share, the last epoch's weights).
/// </summary>
public static class LastLayerRecipe
{
    /// <summary>
    /// Replaces <paramref name="model"/>'s final linear layer by <paramref name="entry"/>'s fit on the features of
    /// <paramref name="train"/> (read without group labels, except by a method whose budget is training groups: CRT) and
    /// <paramref name="validation"/>.
    /// </summary>
    /// <param name="entry">The method, e.g. <see cref="MethodCatalog.Dfr"/>.</param>
    /// <param name="model">A trained classifier whose final layer is a <c>Linear</c> (changed in place; not owned).</param>
    /// <param name="train">The training data the method reads: the training split for DFR (its mean and deviation), the held-out part the model never trained on for AFR.</param>
    /// <param name="validation">The validation split, with group labels.</param>
    /// <param name="seeds">The fit's seed source.</param>
    /// <param name="options">The method's options; its defaults when null.</param>
    /// <param name="featureBatchSize">Batch size of the feature passes, at least 1 (default 1,000).</param>
    /// <param name="loggers">Creates the fit's logger and the recipe's ("Recipe"), which warns (event 149) when the new layer's validation worst-group accuracy is not above the replaced layer's; none when null.</param>
    /// <exception cref="ArgumentException">The model's final layer is not a <c>Linear</c>, or validation has no group labels.</exception>
    public static LastLayerRun Retrain(LastLayerEntry entry, nn.Module<Tensor, Tensor> model, IGroupDataset train, IGroupDataset validation, SeedSource seeds,
        object? options = null, int featureBatchSize = 1000, ILoggerFactory? loggers = null)
    {
        ArgumentNullException.ThrowIfNull(entry);
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(train);
        ArgumentNullException.ThrowIfNull(validation);
        ArgumentNullException.ThrowIfNull(seeds);
        ArgumentOutOfRangeException.ThrowIfLessThan(featureBatchSize, 1);
        var fit = Fit(entry, model, train, validation, seeds, options, featureBatchSize, loggers);
        return new LastLayerRun(entry.Name, model, ownsModel: false, fit, null, fit.LabelBudget);
    }

    /// <summary>
    /// The method's whole protocol: the base model trained by ERM through the ready loop on the training split less the
    /// entry's held-out share (AFR: a random 20%, drawn from <c>seeds.Child(key)</c>'s "split" stream), its last epoch's
    /// weights kept (as the references use them), then its last layer retrained by <see cref="Retrain"/> on the held-out
    /// part (or, without one, on the whole split).
    /// </summary>
    /// <param name="entry">The method.</param>
    /// <param name="data">Training and validation splits.</param>
    /// <param name="newModel">Builds a classifier initialised from the given seed (<c>seeds.Derive("model-init")</c>, as every recipe run).</param>
    /// <param name="newOptimizer">Builds the base model's optimizer.</param>
    /// <param name="seeds">The run's seed source; the base ERM draws from <c>seeds.Child(key).Child("erm")</c>, the fit from <c>seeds.Child(key)</c>.</param>
    /// <param name="options">Epochs and batch sizes of the base model; defaults when null.</param>
    /// <param name="entryOptions">The method's options; its defaults when null.</param>
    /// <param name="loggers">Creates the loggers; the recipe's ("Recipe") warns (event 149) when the new layer's validation worst-group accuracy is not above the replaced layer's, nor above the best epoch of the base model's ERM training; none when null.</param>
    public static LastLayerRun TrainAndRetrain(LastLayerEntry entry, DatasetSplits data, Func<long, nn.Module<Tensor, Tensor>> newModel, Func<IEnumerable<Parameter>, OptimizerHelper> newOptimizer,
        SeedSource seeds, RecipeOptions? options = null, object? entryOptions = null, ILoggerFactory? loggers = null)
    {
        ArgumentNullException.ThrowIfNull(entry);
        ArgumentNullException.ThrowIfNull(data);
        ArgumentNullException.ThrowIfNull(newModel);
        ArgumentNullException.ThrowIfNull(newOptimizer);
        ArgumentNullException.ThrowIfNull(seeds);
        var o = options ?? new RecipeOptions();
        o.Validate();
        var own = seeds.Child(entry.Key);
        var ungrouped = data.Train.WithoutGroupLabels();
        var order = Shuffling.Identity(data.Train.Count);
        Shuffling.Shuffle(order.AsSpan(), own.Random("split"));
        int cut = entry.HeldOutFraction > 0 ? (int)(order.Length * (1 - entry.HeldOutFraction)) : order.Length;
        using var stage1 = new SubsetView(ungrouped, order[..cut]);
        using var heldOut = cut < order.Length ? new SubsetView(ungrouped, order[cut..]) : null;
        var model = newModel(seeds.Derive(MethodEntry.ModelInitStream));
        try
        {
            TrainingHistory history;
            using (var erm = MethodCatalog.Erm.Create(new MethodRequest { Train = stage1, Seeds = own.Child("erm"), Loggers = loggers }))
            using (var optimizer = newOptimizer(model.parameters()))
            {
                history = TrainingLoop.Run(erm, model, optimizer, stage1, data.Validation, new TrainingLoopOptions
                {
                    Epochs = o.Epochs, BatchSize = o.BatchSize, EvaluationBatchSize = o.EvaluationBatchSize, RestoreBest = false,
                    Selection = SelectionRule.AverageAccuracy, Evaluator = new EvaluatorOptions { BootstrapSamples = 0 },
                }, null, loggers?.CreateLogger("Training"));
            }
            var fit = Fit(entry, model, heldOut ?? data.Train, data.Validation, own, entryOptions, 1000, loggers, history);
            return new LastLayerRun(entry.Name, model, ownsModel: true, fit, history, (LabelBudget)Math.Max((int)fit.LabelBudget, (int)history.LabelBudget));
        }
        catch
        {
            model.Dispose();
            throw;
        }
    }

    private static LastLayerFit Fit(LastLayerEntry entry, nn.Module<Tensor, Tensor> model, IGroupDataset train, IGroupDataset validation, SeedSource seeds, object? options,
        int featureBatchSize, ILoggerFactory? loggers, TrainingHistory? baseHistory = null)
    {
        // the training split's group labels travel only to a method that reads them (CRT's balancing)
        using var trainFeatures = FeatureExtractor.Extract(model, entry.LabelBudget >= LabelBudget.TrainingGroups ? train : train.WithoutGroupLabels(), batchSize: featureBatchSize);
        using var validationFeatures = FeatureExtractor.Extract(model, validation, batchSize: featureBatchSize);
        var initial = LinearHead.Read(model);
        var fit = entry.Fit(new LastLayerRequest
        {
            TrainFeatures = trainFeatures, ValidationFeatures = validationFeatures, Initial = initial, Seeds = seeds, Options = options, Loggers = loggers,
        });
        WarnUnlessBeatsBase(entry, fit, initial, validationFeatures, baseHistory, loggers);
        fit.Head.Load(model);
        return fit;
    }

    /// <summary>
    /// Says so (a warning) when the new last layer's validation worst-group accuracy is not above that of the layer it
    /// replaces, on the same features, nor, when the recipe trained the base model (<paramref name="baseHistory"/>), above
    /// the best epoch of that ERM training: the retraining did not improve on the model it started from, or on ERM
    /// stopped at its best epoch (the reference of <see cref="TwoPhaseRecipe"/>'s guard for methods without groups). Not
    /// for a fit that reads no group label (it would be judged on validation groups it does not read), nor when a
    /// validation group is empty.
    /// </summary>
    private static void WarnUnlessBeatsBase(LastLayerEntry entry, LastLayerFit fit, LinearHead initial, TensorGroupDataset validation, TrainingHistory? baseHistory,
        ILoggerFactory? loggers)
    {
        if (fit.LabelBudget == LabelBudget.None || !validation.HasGroups || loggers is null) return;
        using var evaluator = new WorstGroupEvaluator(validation.Scheme, new EvaluatorOptions { BootstrapSamples = 0 });
        if (WorstGroup(initial, validation, evaluator) is not double before || WorstGroup(fit.Head, validation, evaluator) is not double after) return;
        string reference = "that of the layer it replaces";
        // the base model's epochs were evaluated on the same validation split (its last epoch is the replaced layer)
        if (baseHistory is not null
            && TwoPhaseRecipe.BestEpoch(baseHistory.ValidationHistory.ToDictionary(e => e.Epoch, e => e.Result), baseHistory.Epochs.Count) is { } best
            && best.Accuracy > before)
        {
            before = best.Accuracy;
            reference = $"the best epoch of the base model's ERM training, {best.Epoch} of {baseHistory.Epochs.Count}";
        }
        if (after > before) return;
        // DFR fits on the validation groups it is judged on: an in-sample figure (CRT fits on the training groups)
        string inSample = fit.LabelBudget == LabelBudget.ValidationGroupsForFitting ? ", though it was fitted on this split's groups" : "";
        Log.LastLayerNeverBeatBase(loggers.CreateLogger("Recipe"), entry.Name, after, reference, before, inSample);
    }

    /// <summary>The validation worst-group accuracy of <paramref name="head"/> on <paramref name="features"/>; null when a group is empty.</summary>
    private static double? WorstGroup(LinearHead head, TensorGroupDataset features, WorstGroupEvaluator evaluator)
    {
        using var linear = nn.Linear(head.Features, head.Classes);
        if (features.Device.type != DeviceType.CPU) linear.to(features.Device);
        head.Load(linear);
        return evaluator.Evaluate(linear, features, Math.Max(1, features.Count)).WorstGroupAccuracy;
    }
}
