using GroupRobust.Sampling;

namespace GroupRobust.Methods;

/// <summary>Options of <see cref="CvarDroMethod"/> (Levy et al., 2020).</summary>
public sealed record CvarDroOptions
{
    /// <summary>The CVaR level in (0, 1]: the share of largest per-sample losses averaged (default 0.2, the middle of the JTT paper's grid {0.1, 0.2, 0.5}); 1 is ERM.</summary>
    public double Alpha { get; init; } = 0.2;

    /// <summary>The epoch order (default <see cref="EpochOrder.Shuffled"/>).</summary>
    public EpochOrder Order { get; init; } = EpochOrder.Shuffled;
}
