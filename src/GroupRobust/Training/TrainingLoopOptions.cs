using GroupRobust.Evaluation;

namespace GroupRobust.Training;

/// <summary>Options of <see cref="TrainingLoop"/>; small and immutable, defaults for the common case.</summary>
public sealed record TrainingLoopOptions
{
    /// <summary>Number of epochs, at least 1 (default 10).</summary>
    public int Epochs { get; init; } = 10;

    /// <summary>Training batch size, at least 1 (default 64).</summary>
    public int BatchSize { get; init; } = 64;

    /// <summary>Validation batch size, at least 1 (default 256).</summary>
    public int EvaluationBatchSize { get; init; } = 256;

    /// <summary>
    /// How the best epoch is chosen on validation (default <see cref="SelectionRule.Auto"/>: worst-group accuracy when
    /// validation has group labels, else average accuracy; the first epoch wins ties). The rule must score each epoch
    /// alone (<see cref="SelectionRule.ScoresEachEpochAlone"/>).
    /// </summary>
    public SelectionRule Selection { get; init; } = SelectionRule.Auto;

    /// <summary>Where the best epoch's weights are kept: null (default) keeps them in memory, a path keeps them in that file (written atomically).</summary>
    public string? BestWeightsPath { get; init; }

    /// <summary>
    /// A checkpoint written atomically after every epoch (model, optimizer, method state, history), so that a killed run
    /// can resume; null (default) writes none. With a checkpoint, the best weights go to <see cref="BestWeightsPath"/> or,
    /// when it is null, to the checkpoint path plus ".best".
    /// </summary>
    public string? CheckpointPath { get; init; }

    /// <summary>Continue from <see cref="CheckpointPath"/> when that file exists (default true); the result equals the uninterrupted run.</summary>
    public bool Resume { get; init; } = true;

    /// <summary>Restore the best epoch's weights into the model at the end (default true).</summary>
    public bool RestoreBest { get; init; } = true;

    /// <summary>
    /// An oracle reference split (usually the test split), evaluated after every epoch and reported as
    /// <see cref="EpochReport.OracleReference"/> and <see cref="TrainingHistory.OracleBest"/>, never used for selection:
    /// "the best test worst-group over epochs" is an oracle upper bound and must be labelled so. Null (default) evaluates none.
    /// When the training split and the reference have group labels of the same structure (classes x attributes, as the
    /// validation split's), the training split's group counts give the reference's adjusted average accuracy (a report, as
    /// everything about the reference).
    /// </summary>
    public Data.IGroupDataset? OracleReference { get; init; }

    /// <summary>Validation evaluator options (bootstrap); defaults when null.</summary>
    public EvaluatorOptions? Evaluator { get; init; }

    /// <summary>How each batch's gradient becomes an update (default <see cref="OptimizerStep.Plain"/>; <see cref="OptimizerStep.Sam"/> for sharpness-aware minimisation).</summary>
    public OptimizerStep Step { get; init; } = OptimizerStep.Plain;

    /// <summary>Clip the global gradient norm of the model's parameters to this value before every optimizer step (null, the default: no clipping). AFR's reference clips at 1. TorchSharp's <c>clip_grad_norm_</c> returns the norm as a host number, so clipping reads one value from the device per batch.</summary>
    public double? MaxGradientNorm { get; init; }

    /// <summary>
    /// Gather the next training batch on a worker thread while the current one trains (default false): worth it when
    /// batches are slow to build (images decoded from disk); the batches and the results are the same either way for
    /// the library's datasets (see <see cref="Data.BatchIteration.PrefetchedBatches"/> for what a dataset of your own must allow).
    /// </summary>
    public bool PrefetchBatches { get; init; }

    /// <summary>
    /// Drop the final batch of every epoch when it is smaller than <see cref="BatchSize"/> (PyTorch's <c>drop_last</c>;
    /// default false: every sample trains). Without it, a model with a <c>BatchNorm1d</c> layer in training mode is refused
    /// at the start of <c>TrainingLoop.Run</c> when an epoch's last batch would have a single row: batch norm cannot
    /// normalise one value per channel (PyTorch raises; TorchSharp would turn the running variance into NaN).
    /// </summary>
    public bool DropLast { get; init; }

    /// <summary>Throws when an option is out of range.</summary>
    public void Validate()
    {
        ArgumentNullException.ThrowIfNull(Step, nameof(Step));
        StepContext.CheckNorm(MaxGradientNorm, nameof(MaxGradientNorm));
        if (Epochs < 1) throw new ArgumentOutOfRangeException(nameof(Epochs), Epochs, "At least one epoch.");
        if (BatchSize < 1) throw new ArgumentOutOfRangeException(nameof(BatchSize), BatchSize, "Must be >= 1.");
        if (EvaluationBatchSize < 1) throw new ArgumentOutOfRangeException(nameof(EvaluationBatchSize), EvaluationBatchSize, "Must be >= 1.");
        ArgumentNullException.ThrowIfNull(Selection, nameof(Selection));
        if (!Selection.ScoresEachEpochAlone)
            throw new ArgumentException($"Selection by {Selection.Name} compares epochs with each other; the loop keeps the best weights as epochs arrive and needs a rule that scores each epoch alone.", nameof(Selection));
        if (BestWeightsPath is { Length: 0 }) throw new ArgumentException("BestWeightsPath is empty; use null to keep the best weights in memory.", nameof(BestWeightsPath));
        if (CheckpointPath is { Length: 0 }) throw new ArgumentException("CheckpointPath is empty; use null for no checkpoint.", nameof(CheckpointPath));
    }
}
