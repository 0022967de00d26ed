using GroupRobust.Sampling;

namespace GroupRobust.Methods;

/// <summary>Options of <see cref="ErmMethod"/>.</summary>
public sealed record ErmOptions
{
    /// <summary>
    /// The epoch order (default <see cref="EpochOrder.Shuffled"/>, plain ERM). <see cref="EpochOrder.GroupBalanced"/> makes
    /// group-balanced ERM (SubpopBench's ReSample); on true groups it reads the training split's group labels.
    /// </summary>
    public EpochOrder Order { get; init; } = EpochOrder.Shuffled;
}
