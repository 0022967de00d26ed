using GroupRobust.Sampling;

namespace GroupRobust.Methods;

/// <summary>Options of <see cref="MixupMethod"/> (Zhang et al., 2018).</summary>
public sealed record MixupOptions
{
    /// <summary>The Beta(a, a) parameter a of lambda (default 1: lambda uniform); a &lt;= 0 disables mixing (lambda = 1).</summary>
    public double Alpha { get; init; } = 1.0;

    /// <summary>The epoch order (default <see cref="EpochOrder.Shuffled"/>).</summary>
    public EpochOrder Order { get; init; } = EpochOrder.Shuffled;
}
