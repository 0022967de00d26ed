using GroupRobust.Sampling;

namespace GroupRobust.Methods;

/// <summary>Options of <see cref="FocalMethod"/> (Lin et al., 2017).</summary>
public sealed record FocalOptions
{
    /// <summary>The focusing parameter gamma, at least 0 (default 1, SubpopBench's default; its random search draws 0.5 x 10^U(0, 1)); 0 is ERM.</summary>
    public double Gamma { get; init; } = 1;

    /// <summary>The epoch order (default <see cref="EpochOrder.Shuffled"/>).</summary>
    public EpochOrder Order { get; init; } = EpochOrder.Shuffled;
}
