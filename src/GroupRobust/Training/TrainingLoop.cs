using System.Diagnostics;
using System.Text.Json;
using System.Text.Json.Serialization;
using GroupRobust.Checkpoints;
using GroupRobust.Data;
using GroupRobust.Evaluation;
using GroupRobust.Groups;
using GroupRobust.Internal;
using GroupRobust.Methods;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace GroupRobust.Training;

/// <summary>
/// A ready training loop for the common case: trains an <see cref="ITrainingMethod"/> for N epochs with the caller's
/// model and optimizer, evaluates on validation after every epoch, keeps the best weights by the selection rule (in
/// memory or on disk), reports progress through <see cref="IProgress{T}"/> and <see cref="ILogger"/>, optionally writes
/// a checkpoint every epoch and resumes from it, restores the best weights at the end and returns the history.
/// </summary>
/// <remarks>
/// The loop is a convenience, not the only way: every method works in a hand-written loop through its contract
/// (<see cref="ITrainingMethod"/>). Every step runs in its own dispose scope; the training loss is accumulated on the
/// device and read once per epoch. The model is put in training mode for the epoch and in evaluation mode for validation
/// (its previous mode is restored by the evaluator). Model selection follows the rule of
/// <see cref="TrainingLoopOptions.Selection"/>: the first best epoch wins ties.
/// </remarks>
public static class TrainingLoop
{
    private static readonly JsonSerializerOptions HistoryJson = new()
    {
        NumberHandling = JsonNumberHandling.AllowNamedFloatingPointLiterals,
        Converters = { new JsonStringEnumConverter() },
    };

    /// <summary>Trains <paramref name="method"/> for <paramref name="epochs"/> epochs on <paramref name="data"/>'s training split, selecting on its validation split.</summary>
    /// <param name="method">The method (its groups must index <paramref name="data"/>'s training split).</param>
    /// <param name="model">The classifier (trained in place; the best weights are restored at the end).</param>
    /// <param name="optimizer">An optimizer over the model's parameters.</param>
    /// <param name="data">Training and validation splits.</param>
    /// <param name="epochs">Number of epochs, at least 1.</param>
    /// <param name="batchSize">Training batch size, at least 1 (default 64).</param>
    /// <param name="progress">Receives every epoch's report (a <see cref="ConsoleProgress"/> prints it); null for none.</param>
    public static TrainingHistory Run(ITrainingMethod method, nn.Module<Tensor, Tensor> model, OptimizerHelper optimizer, DatasetSplits data, int epochs, int batchSize = 64,
        IProgress<EpochReport>? progress = null)
    {
        ArgumentNullException.ThrowIfNull(data);
        return Run(method, model, optimizer, data.Train, data.Validation, new TrainingLoopOptions { Epochs = epochs, BatchSize = batchSize }, progress);
    }

    /// <summary>Trains <paramref name="method"/> with every option of <see cref="TrainingLoopOptions"/>.</summary>
    /// <param name="method">The method.</param>
    /// <param name="model">The classifier (trained in place).</param>
    /// <param name="optimizer">An optimizer over the model's parameters.</param>
    /// <param name="train">The training split the method indexes.</param>
    /// <param name="validation">The validation split (model selection).</param>
    /// <param name="options">Epochs, batch sizes, selection, best-weights storage, checkpoint.</param>
    /// <param name="progress">Receives every epoch's report; optional.</param>
    /// <param name="logger">Receives one line per epoch and the final choice; <see cref="NullLogger"/> by default.</param>
    /// <exception cref="ArgumentException">An option is out of range, the selection rule reads validation group labels that
    /// <paramref name="validation"/> does not have, or the splits' class counts differ.</exception>
    /// <exception cref="FormatException">The checkpoint to resume from is not valid.</exception>
    public static TrainingHistory Run(ITrainingMethod method, nn.Module<Tensor, Tensor> model, OptimizerHelper optimizer, IGroupDataset train,
        IGroupDataset validation, TrainingLoopOptions options, IProgress<EpochReport>? progress = null, ILogger? logger = null)
    {
        ArgumentNullException.ThrowIfNull(method);
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(optimizer);
        ArgumentNullException.ThrowIfNull(train);
        ArgumentNullException.ThrowIfNull(validation);
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        options.Selection.EnsureFits(options.Epochs, nameof(options));
        if (options.Selection.ReadsValidationGroups && !validation.HasGroups)
            throw new ArgumentException($"The selection rule, {options.Selection.Name}, reads validation group labels, and the validation split has none; " +
                "choose by SelectionRule.Auto (average accuracy without them) or SelectionRule.AverageAccuracy, or give the validation split its groups.", nameof(options));
        if (validation.Scheme.NumClasses != train.Scheme.NumClasses)
            throw new ArgumentException($"The validation split has {validation.Scheme.NumClasses} classes but the training split has {train.Scheme.NumClasses}.", nameof(validation));
        // inferred groups the method trains on that are the split's true groups count as true groups before the method is
        // handed a split without group labels (its budget decides which)
        (method as Methods.TrainingMethod)?.CheckProvenance(train);
        RefuseOneRowBatchNorm(method, model, options);
        var log = logger ?? NullLogger.Instance;
        string? bestPath = options.BestWeightsPath ?? (options.CheckpointPath is null ? null : options.CheckpointPath + ".best");

        using var evaluator = new WorstGroupEvaluator(validation.Scheme, options.Selection.EvaluatorFor(options.Evaluator));
        // the oracle reference keeps its true groups when validation's are inferred with another scheme (XRM's two per
        // class on data with three attribute values): it gets an evaluator of its own
        using var referenceEvaluator = options.OracleReference is { } oracleSplit && !oracleSplit.Scheme.Equals(validation.Scheme) ? new WorstGroupEvaluator(oracleSplit.Scheme, options.Selection.EvaluatorFor(options.Evaluator)) : null;
        // the oracle reference's adjusted average weighs its groups by the training split's counts (a report, never an input)
        long[]? referenceCounts = options.OracleReference is { HasGroups: true } reference && train.HasGroups
            && train.Scheme.NumClasses == reference.Scheme.NumClasses && train.Scheme.NumAttributes == reference.Scheme.NumAttributes
            ? Data.GroupCounts.Of(train) : null;
        var selector = new ModelSelector(options.Selection);
        var reports = new List<EpochReport>();
        Dictionary<string, Tensor>? bestInMemory = null;
        int start = 0;
        if (options.CheckpointPath is not null && options.Resume && File.Exists(options.CheckpointPath))
        {
            // all or nothing: the history is checked first, then the model, the optimizer and the method are restored
            // together or left as they were
            if (!TrainingCheckpoint.ReadState(options.CheckpointPath).Metadata.TryGetValue("history", out var json))
                throw new FormatException($"{options.CheckpointPath}: the checkpoint holds no training history (it was not written by TrainingLoop); nothing was changed.");
            List<EpochReport> saved;
            try
            {
                saved = JsonSerializer.Deserialize<List<EpochReport>>(json, HistoryJson) ?? [];
            }
            catch (JsonException ex)
            {
                throw new FormatException($"{options.CheckpointPath}: the training history is not valid: {ex.Message}", ex);
            }
            try
            {
                foreach (var r in saved) selector.Add(r.Epoch, r.Validation);   // before anything is restored
            }
            catch (ArgumentException ex)
            {
                throw new FormatException($"{options.CheckpointPath}: the training history does not fit this run's selection ({ex.Message}); nothing was changed.", ex);
            }
            var state = TrainingCheckpoint.Load(options.CheckpointPath, model, optimizer, method);
            reports = saved;
            start = state.Epoch;
            Log.TrainingResumed(log, method.Name, start, options.CheckpointPath);
        }

        try
        {
            for (int epoch = start + 1; epoch <= options.Epochs; epoch++)
            {
                var clock = Stopwatch.StartNew();
                double trainLoss = TrainEpoch(method, model, optimizer, train, epoch, options);
                var summary = method.EndEpoch();
                var val = evaluator.Evaluate(model, validation, options.EvaluationBatchSize);
                var oracle = options.OracleReference is null ? null
                    : (referenceEvaluator ?? evaluator).Evaluate(model, options.OracleReference, options.EvaluationBatchSize, trainGroupCounts: referenceCounts);
                bool best = selector.Add(epoch, val);
                if (best)
                {
                    if (bestPath is not null) TrainingCheckpoint.Save(bestPath, model, null, new CheckpointState { Epoch = epoch });
                    else Replace(ref bestInMemory, ModuleState.Copy(model));
                }
                var report = new EpochReport
                {
                    Epoch = epoch, TotalEpochs = options.Epochs, TrainLoss = trainLoss, Method = summary, Validation = val, OracleReference = oracle, IsBest = best,
                    Seconds = clock.Elapsed.TotalSeconds,
                };
                reports.Add(report);
                if (options.CheckpointPath is not null)
                {
                    TrainingCheckpoint.Save(options.CheckpointPath, model, optimizer, new CheckpointState
                    {
                        Epoch = epoch,
                        Method = method.GetState(),
                        Metadata = new Dictionary<string, string> { ["history"] = JsonSerializer.Serialize(reports, HistoryJson), ["method"] = method.Name },
                    });
                }
                Log.EpochCompleted(log, method.Name, report.Epoch, options.Epochs, trainLoss, val.AverageAccuracy, val.WorstGroupAccuracy ?? double.NaN, best);
                progress?.Report(report);
            }

            var history = new TrainingHistory
            {
                Method = method.Name,
                // worst-group selection on inferred validation groups (a RegroupedView marked Inferred) reads no group label
                LabelBudget = (LabelBudget)Math.Max((int)method.LabelBudget, (int)selector.Rule.BudgetOn(validation)),
                Selection = selector.Rule,
                Epochs = reports,
            };
            if (options.RestoreBest)
            {
                if (bestPath is not null) TrainingCheckpoint.Load(bestPath, model, null);
                else if (bestInMemory is not null)
                {
                    using var noGrad = torch.no_grad();
                    model.load_state_dict(bestInMemory);
                }
            }
            Log.BestEpochSelected(log, method.Name, history.Best.Epoch, selector.Rule.Name);
            return history;
        }
        finally
        {
            Replace(ref bestInMemory, null);
        }
    }

    private static double TrainEpoch(ITrainingMethod method, nn.Module<Tensor, Tensor> model, OptimizerHelper optimizer, IGroupDataset train, int epoch, TrainingLoopOptions options)
    {
        var order = method.BeginEpoch(epoch, options.Epochs);
        // a method whose budget excludes training groups is handed a view without them
        var data = method.LabelBudget >= LabelBudget.TrainingGroups ? train : train.WithoutGroupLabels();
        model.train();
        Tensor? sum = null;
        long batches = 0;
        try
        {
            (train as Data.IEpochAware)?.SetEpoch(epoch);   // train-time augmentation draws per epoch (views pass it on)
            foreach (var batch in options.PrefetchBatches ? data.PrefetchedBatches(order, options.BatchSize, options.DropLast) : data.Batches(order, options.BatchSize, options.DropLast))
            {
                using var scope = NewDisposeScope();
                var loss = options.Step.Take(method, model, optimizer, batch, options.MaxGradientNorm);
                using (torch.no_grad())
                {
                    if (sum is null) sum = loss.detach().to(ScalarType.Float64).clone().DetachFromDisposeScope();
                    else sum.add_(loss.detach().to(ScalarType.Float64));
                }
                batches++;
            }
            if (sum is null) return double.NaN;
            using var host = sum.cpu();
            return host.ToDouble() / batches;
        }
        finally
        {
            sum?.Dispose();
        }
    }

    /// <summary>
    /// Refuses, before anything trains, a run in which some epoch ends with a one-row batch while the model has a
    /// <c>BatchNorm1d</c> layer in training mode (one value per channel cannot be normalised: PyTorch's
    /// <c>_verify_batch_size</c> raises, TorchSharp would make the running variance NaN and the failure surface later as a
    /// non-finite prediction). The epoch lengths come from the method's orders, which depend only on its seed and the epoch.
    /// </summary>
    private static void RefuseOneRowBatchNorm(ITrainingMethod method, nn.Module<Tensor, Tensor> model, TrainingLoopOptions options)
    {
        if (options.DropLast || method is not Methods.TrainingMethod known) return;
        var norm = model.named_modules().FirstOrDefault(m => m.module is TorchSharp.Modules.BatchNorm1d && m.module.training);
        if (norm.module is null) return;
        for (int epoch = 1; epoch <= options.Epochs; epoch++)
        {
            long length = known.EpochLength(epoch, options.Epochs);
            if (length % options.BatchSize == 1)
                throw new ArgumentException($"Epoch {epoch} of {method.Name} has {length} samples, so with BatchSize {options.BatchSize} its last batch has one row, " +
                    $"and the model's batch-norm layer '{(norm.name.Length == 0 ? "(the model)" : norm.name)}' (BatchNorm1d, training) cannot normalise one value per channel " +
                    "(PyTorch refuses it; its running variance would become NaN). Set DropLast = true (PyTorch's drop_last) or choose another batch size.", nameof(options));
        }
    }

    private static void Replace(ref Dictionary<string, Tensor>? state, Dictionary<string, Tensor>? value)
    {
        ModuleState.Free(state);
        state = value;
    }
}
