using GroupRobust.Checkpoints;
using GroupRobust.Internal;
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

    /// <summary>
    /// Loads the checkpoint on every rank, as one transaction over the job; call on every rank at the same point. Every
    /// rank first reads and verifies the file (checksums, state); only when every rank could, each applies it; if any
    /// rank cannot apply it, the ranks that did are put back as they were, so a failed load changes nothing on any rank.
    /// </summary>
    /// <param name="collective">The job.</param>
    /// <param name="path">A checkpoint written by <see cref="Save"/>, readable by every rank.</param>
    /// <param name="model">This rank's replica.</param>
    /// <param name="optimizer">This rank's optimizer, or null.</param>
    /// <param name="method">This rank's method, to restore its state; null to skip.</param>
    /// <returns>The saved state.</returns>
    /// <exception cref="IOException">Some rank could not read or apply the file: a failing rank rethrows its own error, every other rank throws this, naming the ranks; nothing was changed on any rank.</exception>
    /// <exception cref="InvalidOperationException">The loaded replicas differ.</exception>
    public static CheckpointState Load(ICollective collective, string path, nn.Module model, OptimizerHelper? optimizer, ITrainingMethod? method = null)
    {
        ArgumentNullException.ThrowIfNull(collective);
        ArgumentException.ThrowIfNullOrEmpty(path);
        ArgumentNullException.ThrowIfNull(model);
        // 1. every rank reads and verifies the file before anything changes
        Agree(collective, path, Attempt(() => TrainingCheckpoint.ReadState(path)), "read");
        // 2. every rank applies it, keeping what it had, so that a failure on one rank can be undone on the others
        var modelBefore = ModuleState.Copy(model);
        try
        {
            byte[]? optimizerBefore = optimizer is null ? null : TrainingCheckpoint.OptimizerBytes(optimizer);
            var methodBefore = method?.GetState();
            CheckpointState? state = null;
            var failure = Attempt(() => state = TrainingCheckpoint.Load(path, model, optimizer, method));   // a failure leaves this rank as it was
            try
            {
                Agree(collective, path, failure, "apply");
            }
            catch (IOException) when (failure is null)
            {
                // another rank could not apply it: undo it here too
                using (torch.no_grad()) model.load_state_dict(modelBefore);
                if (optimizer is not null) TrainingCheckpoint.LoadOptimizer(optimizer, optimizerBefore!);
                if (methodBefore is not null) method!.SetState(methodBefore);
                throw;
            }
            ReplicaCheck.Verify(model, collective, method);
            return state!;
        }
        finally
        {
            ModuleState.Free(modelBefore);
        }
    }

    private static Exception? Attempt(Action action)
    {
        try
        {
            action();
            return null;
        }
        catch (Exception ex) when (ex is IOException or FormatException or UnauthorizedAccessException or InvalidOperationException or ArgumentException)
        {
            return ex;
        }
    }

    /// <summary>Tells every rank which ranks failed; the failing ranks rethrow their error, the others throw naming them.</summary>
    private static void Agree(ICollective collective, string path, Exception? failure, string what)
    {
        var failed = collective.AllGather([failure is null ? 0 : 1]);
        if (failure is not null) System.Runtime.ExceptionServices.ExceptionDispatchInfo.Capture(failure).Throw();
        var ranks = Enumerable.Range(0, failed.Length).Where(r => failed[r][0] != 0).ToArray();
        if (ranks.Length > 0)
            throw new IOException($"Rank {string.Join(", ", ranks)} could not {what} the checkpoint '{path}' (the error is in that rank's output; is the file on a path every rank can read?); nothing was changed on any rank.");
    }
}
