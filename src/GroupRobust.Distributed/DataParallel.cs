using GroupRobust.Data;
using GroupRobust.Methods;
using GroupRobust.Training;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace GroupRobust.Distributed;

/// <summary>
/// Data-parallel training with the library's methods, opt-in: every rank fetches its part of each global batch
/// (<see cref="GetBatch(IGroupDataset, BatchShard)"/>), takes the part's share of the global loss
/// (<see cref="PartLoss"/>), and averages the gradients over the job before the update; <see cref="TrainEpoch"/> is that
/// loop through an <see cref="OptimizerStep"/> (plain, or SAM, whose two backward passes are averaged alike). ERM, JTT,
/// GroupDRO (with <see cref="DistributedGroupDro.Attach"/>) and the mixing methods split into parts; the others say so.
/// </summary>
public static class DataParallel
{
    /// <summary>
    /// This rank's part of a global batch: the rows of <paramref name="shard"/>, or, for a part without rows in a short
    /// last batch, a batch of zero rows shaped like the dataset's (taken from one row of the global batch).
    /// </summary>
    /// <param name="dataset">The training split the global batch indexes.</param>
    /// <param name="shard">The part to fetch.</param>
    /// <exception cref="ArgumentOutOfRangeException">An index of the global batch is outside the dataset.</exception>
    public static Batch GetBatch(this IGroupDataset dataset, BatchShard shard)
    {
        ArgumentNullException.ThrowIfNull(dataset);
        ArgumentNullException.ThrowIfNull(shard);
        var global = shard.Global;
        for (int i = 0; i < global.Length; i++)
            if ((ulong)global[i] >= (ulong)dataset.Count)
                throw new ArgumentOutOfRangeException(nameof(shard), global[i], $"Row {i} of the global batch is index {global[i]}; the dataset has {dataset.Count} samples.");
        if (shard.Length > 0) return dataset.GetBatch(shard.LocalIndices);
        // no rows here: an empty batch with the dataset's row shape, dtypes and device (from one row of the global batch)
        using var scope = torch.NewDisposeScope();
        using var like = dataset.GetBatch(global.AsSpan(0, 1));
        return new Batch(like.Inputs.narrow(0, 0, 0).clone(), like.Labels.narrow(0, 0, 0).clone(), like.Groups?.narrow(0, 0, 0).clone(), []).MoveToOuterDisposeScope();
    }

    /// <summary>
    /// This rank's share of a global batch's loss, in the "mean over this part's rows" form that
    /// <see cref="GradientAveraging.AverageGradients"/> weights by rows, so that the averaged gradient is the global
    /// batch's; per-batch randomness (JM1's partners, alpha, the layer) is drawn for the whole global batch on every rank.
    /// A part may have no rows. <see cref="ITrainingMethod.RepeatLoss"/> repeats it (SAM).
    /// </summary>
    /// <param name="method">A library method (a <see cref="TrainingMethod"/>).</param>
    /// <param name="model">The model (this rank's replica).</param>
    /// <param name="part">The part's batch, from <see cref="GetBatch(IGroupDataset, BatchShard)"/>.</param>
    /// <param name="shard">The part's place in its global batch.</param>
    /// <exception cref="ArgumentException"><paramref name="part"/> does not hold the rows of <paramref name="shard"/>.</exception>
    /// <exception cref="NotSupportedException">The method's loss does not split into parts (MixUp, CVaR-DRO, LfF, LISA, GroupJM1), or it is not a library method.</exception>
    /// <exception cref="InvalidOperationException">GroupDRO whose statistics are not reduced over the job (<see cref="DistributedGroupDro.Attach"/>).</exception>
    public static Tensor PartLoss(this ITrainingMethod method, nn.Module<Tensor, Tensor> model, Batch part, BatchShard shard)
    {
        ArgumentNullException.ThrowIfNull(method);
        ArgumentNullException.ThrowIfNull(part);
        ArgumentNullException.ThrowIfNull(shard);
        if (method is not TrainingMethod library)
            throw new NotSupportedException($"{method.Name} implements ITrainingMethod directly; data-parallel parts need a method derived from TrainingMethod that splits its loss into parts.");
        if (!part.Indices.AsSpan().SequenceEqual(shard.LocalIndices))
            throw new ArgumentException($"The batch's {part.Size} indices are not those of {shard}; fetch it with dataset.GetBatch(shard).", nameof(part));
        return library.LossOfPart(model, part, new GlobalBatch(shard.Global, shard.Start, shard.Length));
    }

    /// <summary>
    /// One data-parallel epoch of <paramref name="method"/>: this rank's part of every global batch of the epoch's order,
    /// each through <paramref name="step"/> with the gradients averaged over the job after every backward pass; every rank
    /// takes the same number of steps. Returns the epoch's summary.
    /// </summary>
    /// <remarks>
    /// Before the first gradient of the epoch is exchanged, the ranks check with one all-reduce of 64 int64 that they
    /// agree on: the model's layout (every parameter's name, dtype, shape and whether it trains, every buffer's name,
    /// dtype and shape, in the model's order: equal counts of numbers are not enough), the training split's size, the
    /// method (its name and <see cref="TrainingMethod.DatasetSize"/>), the epoch and the run's epochs, the global batch,
    /// the epoch order's length and steps, and the order itself (a fingerprint). When any rank differs, every rank throws
    /// the same <see cref="InvalidOperationException"/> naming the ranks that differ from rank 0 and what differs (for
    /// example "rank 1 has parameter 'fc.weight' float32[2, 16] where rank 0 has float32[16, 2]"), before any forward
    /// pass: no parameter, gradient or buffer has changed and the method is left as it was. The steps then cost no
    /// further check (<see cref="GradientAveraging.AverageGradients"/> carries the agreed layout's fingerprint in its
    /// bucket). In a job of one nothing is exchanged.
    /// </remarks>
    /// <param name="method">The method (begun and ended here).</param>
    /// <param name="model">This rank's replica (broadcast from rank 0 before the first epoch: <see cref="GradientAveraging.BroadcastParameters"/>).</param>
    /// <param name="optimizer">An optimizer over the model's parameters.</param>
    /// <param name="train">The training split, the same on every rank.</param>
    /// <param name="epoch">The epoch, as <see cref="ITrainingMethod.BeginEpoch"/> takes it.</param>
    /// <param name="totalEpochs">The run's epochs.</param>
    /// <param name="globalBatchSize">Rows per global batch, a positive multiple of the job's size.</param>
    /// <param name="job">The job.</param>
    /// <param name="step">The optimizer step (default <see cref="OptimizerStep.Plain"/>).</param>
    /// <param name="maxGradientNorm">Clip the averaged gradients' global norm before the update (a finite number &gt; 0); null for none.</param>
    /// <exception cref="ArgumentOutOfRangeException">The global batch is not a positive multiple of the job's size, or the norm is not a finite number &gt; 0 (nothing has begun).</exception>
    /// <exception cref="NotSupportedException">The method's loss does not split into parts, or it is not a library method (nothing has begun).</exception>
    /// <exception cref="InvalidOperationException">GroupDRO whose statistics are not reduced over the job; or the ranks differ
    /// in model layout, training split, method, epoch, global batch, steps or epoch order (every rank throws the same
    /// message naming the ranks and the values; nothing has begun).</exception>
    public static MethodEpochSummary TrainEpoch(ITrainingMethod method, nn.Module<Tensor, Tensor> model, OptimizerHelper optimizer, IGroupDataset train, int epoch, int totalEpochs,
        int globalBatchSize, ICollective job, OptimizerStep? step = null, double? maxGradientNorm = null)
    {
        ArgumentNullException.ThrowIfNull(method);
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(optimizer);
        ArgumentNullException.ThrowIfNull(train);
        ArgumentNullException.ThrowIfNull(job);
        // checked before the epoch begins, so that a refused call leaves the method as it was
        if (method is not TrainingMethod library)
            throw new NotSupportedException($"{method.Name} implements ITrainingMethod directly; data-parallel parts need a method derived from TrainingMethod that splits its loss into parts.");
        library.EnsureSplitsIntoParts();
        EpochSharding.CheckGlobalBatch(globalBatchSize, job.Size);
        StepContext.CheckNorm(maxGradientNorm, nameof(maxGradientNorm));
        step ??= OptimizerStep.Plain;
        var before = library.SaveEpochPosition();
        var order = method.BeginEpoch(epoch, totalEpochs);
        if (job.Size > 1)
        {
            try
            {
                LayoutAgreement.Establish(job, ModelLayout.Of(model), Settings(library, train, epoch, totalEpochs, globalBatchSize, order));
            }
            catch
            {
                library.RestoreEpochPosition(before);   // a refused epoch leaves the method as it was
                throw;
            }
        }
        model.train();
        (train as IEpochAware)?.SetEpoch(epoch);   // train-time augmentation draws per epoch, as TrainingLoop does
        foreach (var shard in EpochSharding.Shards(order, globalBatchSize, job))
        {
            using var scope = torch.NewDisposeScope();
            using var part = train.GetBatch(shard);   // possibly no rows, in a short last batch: the step still counts
            step.Take(new StepContext(model, optimizer, () => method.PartLoss(model, part, shard), () => method.RepeatLoss(model, part))
            {
                AfterBackward = () => GradientAveraging.AverageGradients(model, job, part.Size), MaxGradientNorm = maxGradientNorm,
            });
        }
        return method.EndEpoch();
    }

    /// <summary>What every rank of an epoch must share besides the model, as the check's message words it.</summary>
    private static LayoutAgreement.Setting[] Settings(TrainingMethod method, IGroupDataset train, int epoch, int totalEpochs, int globalBatchSize, long[] order)
    {
        long steps = (order.LongLength + globalBatchSize - 1) / globalBatchSize;
        // the order's fingerprint, word by word (FNV-1a over 64-bit words): O(N) per epoch on the host
        ulong h = 14695981039346656037UL;
        foreach (long index in order) h = (h ^ (ulong)index) * 1099511628211UL;
        var c = System.Globalization.CultureInfo.InvariantCulture;
        return
        [
            new("split", string.Create(c, $"a training split of {train.Count} rows")),
            new("method", string.Create(c, $"the method {method.Name} over a split of {method.DatasetSize} rows (DatasetSize)")),
            new("epoch", string.Create(c, $"epoch {epoch} of {totalEpochs}")),
            new("batch", string.Create(c, $"a global batch of {globalBatchSize} rows")),
            new("steps", string.Create(c, $"{steps} steps over an epoch order of {order.LongLength} rows")),
            new("order", string.Create(c, $"an epoch order with fingerprint {h:x16}")),
        ];
    }
}
