using GroupRobust.Sampling;

namespace GroupRobust.Methods;

/// <summary>Options of <see cref="BalancedSoftmaxMethod"/> (Ren et al., 2020).</summary>
public sealed record BalancedSoftmaxOptions
{
    /// <summary>The epoch order (default <see cref="EpochOrder.Shuffled"/>).</summary>
    public EpochOrder Order { get; init; } = EpochOrder.Shuffled;
}
