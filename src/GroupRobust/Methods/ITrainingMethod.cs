using GroupRobust.Data;
using GroupRobust.Groups;
using static TorchSharp.torch;

namespace GroupRobust.Methods;

/// <summary>
/// The phase-II method contract: what a group-robust method adds to an ordinary training loop. Per epoch the index
/// order (<see cref="BeginEpoch"/>), per batch the loss from the model and the batch (<see cref="Loss"/>), at the end
/// of the epoch its statistics (<see cref="EndEpoch"/>), and its whole state for checkpoints
/// (<see cref="GetState"/>, <see cref="SetState"/>). The loop, the model and the optimizer stay the caller's.
/// </summary>
/// <example>
/// <code>
/// using var method = Jm1Method.Jm1(data.Train, errorSet, new SeedSource(0));
/// for (int epoch = 1; epoch &lt;= epochs; epoch++)
/// {
///     foreach (var batch in data.Train.Batches(method.BeginEpoch(epoch, epochs), batchSize: 64))
///     {
///         using var scope = torch.NewDisposeScope();
///         optimizer.zero_grad();
///         method.Loss(model, batch).backward();
///         optimizer.step();
///     }
///     Console.WriteLine(method.EndEpoch());
/// }
/// </code>
/// <see cref="Training.TrainingLoop"/> is a ready loop over this contract (validation, model selection, best weights,
/// checkpoints), but the contract works without it.
/// </example>
public interface ITrainingMethod : IDisposable
{
    /// <summary>A row label for tables, e.g. "JM1 (input)" or "JTT (λ=20)".</summary>
    string Name { get; }

    /// <summary>
    /// The group labels training reads: <see cref="LabelBudget.TrainingGroups"/> for GroupDRO, GroupJM1 and any method fed
    /// with <see cref="Identification.GroupSource.TrueLabels"/> groups (an oracle); <see cref="LabelBudget.None"/> for ERM,
    /// MixUp, CVaR-DRO and JTT or JM1 on inferred groups. Enforced: a method below <see cref="LabelBudget.TrainingGroups"/>
    /// sees batches without group ids. A run's budget also counts its selection rules (<see cref="Training.TrainingHistory.LabelBudget"/>).
    /// </summary>
    LabelBudget LabelBudget { get; }

    /// <summary>Starts epoch <paramref name="epoch"/> of <paramref name="totalEpochs"/> and returns its sample indices (a pure function of the method's seed, the epoch and, for stateful orders, the restored state).</summary>
    /// <param name="epoch">The epoch, in [1, totalEpochs]: epochs are numbered from 1 everywhere in the library (epoch 1 is the first pass; "T = 2" is the model after two).</param>
    /// <param name="totalEpochs">Number of epochs of the run, at least 1 (alpha schedules depend on it).</param>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="epoch"/> is outside [1, totalEpochs], or <paramref name="totalEpochs"/> is below 1.</exception>
    /// <exception cref="InvalidOperationException">The previous epoch was not ended.</exception>
    long[] BeginEpoch(int epoch, int totalEpochs);

    /// <summary>
    /// The loss of one batch of the current epoch, a scalar to backpropagate, in the caller's dispose scope.
    /// (Data-parallel training gives each process one part of every global batch through GroupRobust.Distributed's
    /// <c>PartLoss</c>: the methods whose loss splits into parts draw their per-batch randomness for the whole global batch.)
    /// </summary>
    /// <param name="model">The classifier being trained (logits [B, C]).</param>
    /// <param name="batch">A batch of the training split, fetched with the indices <see cref="BeginEpoch"/> returned.</param>
    /// <exception cref="InvalidOperationException">No epoch was begun.</exception>
    /// <exception cref="ArgumentException">The batch does not come from the method's training split, is empty, or (the library's methods, on the CPU) has inputs with NaN or infinity.</exception>
    Tensor Loss(nn.Module<Tensor, Tensor> model, Batch batch);

    /// <summary>
    /// The loss of the batch last given to <see cref="Loss"/>, computed again at the model's current parameters with the
    /// same random draws (partners, alpha, the mixing layer) and without advancing any state (group weights, loss
    /// averages, statistics, the sample count): the second evaluation of a step that evaluates its loss twice, such as
    /// SAM (<c>OptimizerStep.Sam</c>). Robust weights are those the first evaluation used (after its update).
    /// </summary>
    /// <param name="model">The classifier being trained.</param>
    /// <param name="batch">The batch last given to <see cref="Loss"/> (the same instance).</param>
    /// <exception cref="InvalidOperationException">No loss was computed since the epoch began, or <paramref name="batch"/> is not the last batch.</exception>
    Tensor RepeatLoss(nn.Module<Tensor, Tensor> model, Batch batch);

    /// <summary>Ends the current epoch and returns its statistics (samples, mixing, group weights), logging them.</summary>
    /// <exception cref="InvalidOperationException">No epoch was begun.</exception>
    MethodEpochSummary EndEpoch();

    /// <summary>The method's whole resumable state (generators, epoch position, loss buffers, mixer statistics), as host values.</summary>
    MethodState GetState();

    /// <summary>Restores a state from <see cref="GetState"/> of a method built the same way; training then continues exactly as if uninterrupted.</summary>
    /// <exception cref="ArgumentException">The state belongs to another method or does not fit this one; nothing is changed.</exception>
    void SetState(MethodState state);
}
