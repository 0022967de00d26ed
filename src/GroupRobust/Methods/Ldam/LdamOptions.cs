using GroupRobust.Sampling;

namespace GroupRobust.Methods;

/// <summary>Options of <see cref="LdamMethod"/> (Cao et al., 2019).</summary>
public sealed record LdamOptions
{
    /// <summary>The margin of the smallest class, above 0 (default 0.5, SubpopBench's and the paper's; its random search draws 10^U(-1, -0.1)).</summary>
    public double MaxMargin { get; init; } = 0.5;

    /// <summary>The logit scale s, above 0 (default 30, SubpopBench's; its random search draws 10 or 30).</summary>
    public double Scale { get; init; } = 30;

    /// <summary>The epoch order (default <see cref="EpochOrder.Shuffled"/>).</summary>
    public EpochOrder Order { get; init; } = EpochOrder.Shuffled;
}
