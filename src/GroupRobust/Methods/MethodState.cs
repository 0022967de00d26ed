namespace GroupRobust.Methods;

/// <summary>
/// The resumable state of an <see cref="ITrainingMethod"/>, as host values: the method's kind, its seeds (the seed of
/// its epoch orders), the states of its named generators (<see cref="Randomness.ReproducibleRandom.GetState"/>) and named
/// number arrays (epoch position, loss buffers such as GroupDRO's log q, mixer statistics). JSON-serialisable;
/// checkpoints store it as it is.
/// </summary>
public sealed record MethodState
{
    /// <summary>
    /// Format version: 2 (epochs numbered from 1). Version-1 states, written when the library numbered epochs from 0
    /// (0.1), are refused with that explanation: their epoch counters mean something else.
    /// </summary>
    public int Version { get; init; } = CurrentVersion;

    /// <summary>The version <see cref="ITrainingMethod.GetState"/> writes.</summary>
    public const int CurrentVersion = 2;

    /// <summary>The method kind that produced the state, e.g. "jm1"; a state is only accepted by a method of the same kind.</summary>
    public required string Kind { get; init; }

    /// <summary>Seeds by name ("order": the seed epoch orders are a pure function of).</summary>
    public required IReadOnlyDictionary<string, long> Seeds { get; init; }

    /// <summary>Generator states by stream name.</summary>
    public required IReadOnlyDictionary<string, ulong[]> Generators { get; init; }

    /// <summary>Named arrays of numbers (counters are exact up to 2^53).</summary>
    public required IReadOnlyDictionary<string, double[]> Values { get; init; }

    /// <summary>Collections print as their items, not as "System.String[]" (the members of the compiler's <c>ToString</c>).</summary>
    private bool PrintMembers(System.Text.StringBuilder builder) => GroupRobust.Internal.RecordText.Print(this, builder);
}
