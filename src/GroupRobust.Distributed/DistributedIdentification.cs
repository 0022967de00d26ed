using GroupRobust.Data;
using GroupRobust.Identification;

namespace GroupRobust.Distributed;

/// <summary>
/// Group identification split among the ranks of a job: each rank runs the phase-I model over its contiguous share of
/// the training split (whole batches of the one-process pass, at the identifier's batch size), the per-sample statistics (errors, losses, EIIL's derivatives) are summed over the job (each row
/// is computed by exactly one rank, so the sum is exact), and every rank applies the identifier's rule to the whole
/// set: the assignment is exactly the one-process assignment, identical on every rank, ready for JM1, JTT or GroupDRO.
/// Supported: <see cref="MisclassificationIdentifier"/>, <see cref="LossMagnitudeIdentifier"/> and
/// <see cref="EiilIdentifier"/> (whose optimisation then runs on every rank, on the same numbers).
/// </summary>
public static class DistributedIdentification
{
    /// <summary>Identifies the groups of <paramref name="dataset"/> with the job's ranks.</summary>
    /// <param name="identifier">The identifier, built the same way on every rank around this rank's replica of the phase-I model.</param>
    /// <param name="dataset">The training split, the same on every rank.</param>
    /// <param name="collective">The job.</param>
    /// <exception cref="NotSupportedException">The identifier's work is not one pass of a trained model (XRM trains its own pair of models; the oracle reads labels): run it on every rank alike instead.</exception>
    /// <exception cref="InvalidOperationException">The ranks did not pass every row exactly once (a different dataset on some rank).</exception>
    public static GroupAssignment Identify(IGroupIdentifier identifier, IGroupDataset dataset, ICollective collective)
    {
        ArgumentNullException.ThrowIfNull(identifier);
        ArgumentNullException.ThrowIfNull(dataset);
        ArgumentNullException.ThrowIfNull(collective);
        if (identifier is not IShardableIdentifier shardable)
            throw new NotSupportedException($"{identifier.GetType().Name} cannot split its work among the ranks (it is not one pass of a trained model); call its Identify on every rank alike, which gives every rank the same assignment when its inputs and seeds are the same.");
        return shardable.Identify(dataset, new PassShare(batchSize => EpochSharding.RowsOf(dataset.Count, batchSize, collective), collective.Size, b => collective.AllReduceSum(b)));
    }
}
