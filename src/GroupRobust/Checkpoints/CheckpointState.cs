using GroupRobust.Losses;

namespace GroupRobust.Checkpoints;

/// <summary>
/// The non-tensor state a resumed run needs besides the model and optimizer: the next epoch, the state of every
/// <see cref="Randomness.ReproducibleRandom"/> the loop draws from (by name), GroupDRO's state, and free-form metadata
/// (e.g. the path of the saved <see cref="Identification.Partition"/>).
/// </summary>
public sealed record CheckpointState
{
    /// <summary>The epoch to continue with (0-based; also the position of alpha schedules and samplers).</summary>
    public required int Epoch { get; init; }

    /// <summary>Generator states by name (from <see cref="Randomness.ReproducibleRandom.GetState"/>).</summary>
    public IReadOnlyDictionary<string, ulong[]> RandomStates { get; init; } = new Dictionary<string, ulong[]>();

    /// <summary>GroupDRO's state, when the run uses it.</summary>
    public GroupDroState? GroupDro { get; init; }

    /// <summary>Free-form metadata.</summary>
    public IReadOnlyDictionary<string, string> Metadata { get; init; } = new Dictionary<string, string>();
}
