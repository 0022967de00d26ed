namespace GroupRobust.Losses;

/// <summary>The resumable state of <see cref="GroupDroLoss"/> (host copies; see <see cref="GroupDroLoss.GetState"/>).</summary>
public sealed record GroupDroState
{
    /// <summary>Format version (1).</summary>
    public int Version { get; init; } = 1;

    /// <summary>log q, the group weights in log space (length G).</summary>
    public required double[] LogQ { get; init; }

    /// <summary>EMA of the group losses (length G).</summary>
    public required double[] ExpAvgLoss { get; init; }

    /// <summary>Whether each group's EMA has been initialised (length G).</summary>
    public required bool[] ExpAvgInitialized { get; init; }

    /// <summary>Steps taken (updates of q and the EMA).</summary>
    public required long Steps { get; init; }

    /// <summary>Training group counts the state was made with (checked on load).</summary>
    public required long[] GroupCounts { get; init; }
}
