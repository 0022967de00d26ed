using GroupRobust.Methods;

namespace GroupRobust.Checkpoints;

/// <summary>
/// The non-tensor state a resumed run needs besides the model and optimizer: the last completed epoch, the method's whole state
/// (<see cref="ITrainingMethod.GetState"/>: its generators, loss buffers and statistics), the states of any other
/// <see cref="Randomness.ReproducibleRandom"/> the caller's loop draws from (by name), and free-form metadata (e.g. the
/// path of the saved <see cref="Identification.GroupAssignment"/>).
/// </summary>
public sealed record CheckpointState
{
    /// <summary>The last completed epoch (epochs are numbered from 1; 0 before the first): a resumed run continues with the next.</summary>
    public required int Epoch { get; init; }

    /// <summary>The training method's state, when the run uses one.</summary>
    public MethodState? Method { get; init; }

    /// <summary>The caller's own generator states by name (from <see cref="Randomness.ReproducibleRandom.GetState"/>).</summary>
    public IReadOnlyDictionary<string, ulong[]> RandomStates { get; init; } = new Dictionary<string, ulong[]>();

    /// <summary>Free-form metadata.</summary>
    public IReadOnlyDictionary<string, string> Metadata { get; init; } = new Dictionary<string, string>();

    /// <summary>Collections print as their items, not as "System.String[]" (the members of the compiler's <c>ToString</c>).</summary>
    private bool PrintMembers(System.Text.StringBuilder builder) => GroupRobust.Internal.RecordText.Print(this, builder);
}
