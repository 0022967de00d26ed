using GroupRobust.Data;
using GroupRobust.Evaluation;
using GroupRobust.Identification;
using TorchSharp;
using static TorchSharp.torch;

namespace GroupRobust.Distributed;

/// <summary>
/// Evaluation split among the ranks of a job: each rank evaluates its contiguous share of the split (whole batches of
/// the one-process pass, so every rank runs exactly the one-process batches), the per-class and
/// per-group tallies are summed over the job (one int64 all-reduce), and every rank gets the same
/// <see cref="EvaluationResult"/>, equal to the one-process evaluation of the whole split, bootstrap intervals included
/// (with the bootstrap on, each row's outcome travels too: N numbers; with <see cref="EvaluatorOptions.BootstrapSamples"/>
/// = 0 only the 2C + 2G tallies do). Every rank must hold the same model (<see cref="ReplicaCheck"/>).
/// </summary>
public static class DistributedEvaluation
{
    /// <summary>Evaluates <paramref name="model"/> on <paramref name="dataset"/> with the job's ranks (see <see cref="WorstGroupEvaluator.Evaluate(nn.Module{Tensor, Tensor}, IGroupDataset, int, Device?, IReadOnlyList{long}?)"/>).</summary>
    /// <param name="evaluator">The evaluator (its scheme and bootstrap settings; its accumulated state is reset).</param>
    /// <param name="model">This rank's replica.</param>
    /// <param name="dataset">The split, the same on every rank.</param>
    /// <param name="collective">The job.</param>
    /// <param name="batchSize">Evaluation batch size, at least 1 (default 256).</param>
    /// <param name="device">Device to move inputs to; null keeps the dataset's.</param>
    /// <param name="trainGroupCounts">Training group counts for the adjusted average; optional.</param>
    /// <exception cref="InvalidOperationException">The ranks did not cover every row exactly once (a different dataset on some rank).</exception>
    public static EvaluationResult Evaluate(WorstGroupEvaluator evaluator, nn.Module<Tensor, Tensor> model, IGroupDataset dataset, ICollective collective,
        int batchSize = 256, Device? device = null, IReadOnlyList<long>? trainGroupCounts = null)
    {
        Check(evaluator, model, dataset, collective, batchSize);
        if (dataset.Scheme.NumClasses != evaluator.Scheme.NumClasses || (dataset.HasGroups && dataset.Scheme.NumGroups != evaluator.Scheme.NumGroups))
            throw new ArgumentException($"The dataset's scheme ({dataset.Scheme.NumClasses} classes, {dataset.Scheme.NumGroups} groups) does not match the evaluator's ({evaluator.Scheme.NumClasses} classes, {evaluator.Scheme.NumGroups} groups).", nameof(dataset));
        return evaluator.EvaluateShare(model, dataset, EpochSharding.RowsOf(dataset.Count, batchSize, collective), batchSize, device, trainGroupCounts, null, collective.Size, b => collective.AllReduceSum(b));
    }

    /// <summary>Evaluates per group of <paramref name="groups"/> (for example the inferred groups of the training split) with the job's ranks.</summary>
    /// <param name="evaluator">An evaluator with the assignment's scheme.</param>
    /// <param name="model">This rank's replica.</param>
    /// <param name="dataset">The split the assignment indexes.</param>
    /// <param name="groups">The assignment.</param>
    /// <param name="collective">The job.</param>
    /// <param name="batchSize">Evaluation batch size, at least 1 (default 256).</param>
    /// <param name="device">Device to move inputs to; null keeps the dataset's.</param>
    public static EvaluationResult Evaluate(WorstGroupEvaluator evaluator, nn.Module<Tensor, Tensor> model, IGroupDataset dataset, GroupAssignment groups, ICollective collective,
        int batchSize = 256, Device? device = null)
    {
        Check(evaluator, model, dataset, collective, batchSize);
        ArgumentNullException.ThrowIfNull(groups);
        groups.EnsureMatches(dataset, nameof(groups));
        if (groups.NumClasses != evaluator.Scheme.NumClasses || groups.NumGroups != evaluator.Scheme.NumGroups)
            throw new ArgumentException($"The group assignment has {groups.NumClasses} classes and {groups.NumGroups} groups but the evaluator's scheme has {evaluator.Scheme.NumClasses} and {evaluator.Scheme.NumGroups}; create the evaluator with the assignment's Scheme.", nameof(groups));
        return evaluator.EvaluateShare(model, dataset, EpochSharding.RowsOf(dataset.Count, batchSize, collective), batchSize, device, null, groups, collective.Size, b => collective.AllReduceSum(b));
    }

    private static void Check(WorstGroupEvaluator evaluator, nn.Module<Tensor, Tensor> model, IGroupDataset dataset, ICollective collective, int batchSize)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(batchSize, 1);
        ArgumentNullException.ThrowIfNull(evaluator);
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(dataset);
        ArgumentNullException.ThrowIfNull(collective);
    }
}
