using GroupRobust.Checkpoints;
using GroupRobust.Methods;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace GroupRobust.Distributed;

/// <summary>
/// Checkpoints of a data-parallel job: the replicas are checked to be identical, rank 0 alone writes the file
/// (atomically, through <see cref="TrainingCheckpoint.Save"/>: a crash during the save leaves the previous checkpoint
/// intact), and every rank learns whether the write succeeded; every rank loads the same file and the loaded replicas
/// are checked again. The path must be one every rank can read (a shared file system across machines).
/// </summary>
public static class DistributedCheckpoint
{
    /// <summary>Writes the job's checkpoint from rank 0; call on every rank at the same point.</summary>
    /// <param name="collective">The job.</param>
    /// <param name="path">The checkpoint file (written by rank 0 only).</param>
    /// <param name="model">This rank's replica.</param>
    /// <param name="optimizer">This rank's optimizer, or null.</param>
    /// <param name="state">The state to save (epoch, method state, metadata), as on one process.</param>
    /// <param name="method">This rank's method, to check that its state is the same on every rank; null skips that check.</param>
    /// <exception cref="InvalidOperationException">The replicas differ (nothing is written).</exception>
    /// <exception cref="IOException">Rank 0 could not write the file (on the other ranks; rank 0 rethrows its own error). The previous checkpoint is intact.</exception>
    public static void Save(ICollective collective, string path, nn.Module model, OptimizerHelper? optimizer, CheckpointState state, ITrainingMethod? method = null)
    {
        ArgumentNullException.ThrowIfNull(collective);
        ArgumentException.ThrowIfNullOrEmpty(path);
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(state);
        ReplicaCheck.Verify(model, collective, method);
        Exception? failure = null;
        if (collective.Rank == 0)
        {
            try
            {
                TrainingCheckpoint.Save(path, model, optimizer, state);
            }
            catch (Exception ex)
            {
                failure = ex;
            }
        }
        var status = new float[] { failure is null ? 0 : 1 };
        collective.Broadcast(status);
        if (failure is not null) throw failure;
        if (status[0] != 0)
            throw new IOException($"Rank 0 could not write the checkpoint '{path}' (its error is in rank 0's output); the previous checkpoint is intact.");
    }

    /// <summary>Loads the checkpoint on every rank; call on every rank at the same point.</summary>
    /// <param name="collective">The job.</param>
    /// <param name="path">A checkpoint written by <see cref="Save"/>, readable by every rank.</param>
    /// <param name="model">This rank's replica.</param>
    /// <param name="optimizer">This rank's optimizer, or null.</param>
    /// <param name="method">This rank's method, to restore its state; null to skip.</param>
    /// <returns>The saved state.</returns>
    /// <exception cref="IOException">Some rank could not load the file (every rank throws, naming them; a failing rank rethrows its own error); nothing was changed on any rank that could not load it.</exception>
    /// <exception cref="InvalidOperationException">The loaded replicas differ.</exception>
    public static CheckpointState Load(ICollective collective, string path, nn.Module model, OptimizerHelper? optimizer, ITrainingMethod? method = null)
    {
        ArgumentNullException.ThrowIfNull(collective);
        ArgumentException.ThrowIfNullOrEmpty(path);
        ArgumentNullException.ThrowIfNull(model);
        CheckpointState? state = null;
        Exception? failure = null;
        try
        {
            state = TrainingCheckpoint.Load(path, model, optimizer, method);
        }
        catch (Exception ex) when (ex is IOException or FormatException or UnauthorizedAccessException or InvalidOperationException or ArgumentException)
        {
            failure = ex;
        }
        var failed = collective.AllGather([failure is null ? 0 : 1]);
        if (failure is not null) throw failure;
        var ranks = Enumerable.Range(0, failed.Length).Where(r => failed[r][0] != 0).ToArray();
        if (ranks.Length > 0)
            throw new IOException($"Rank {string.Join(", ", ranks)} could not load the checkpoint '{path}' (the error is in that rank's output); is the file on a path every rank can read?");
        ReplicaCheck.Verify(model, collective, method);
        return state!;
    }
}
