using GroupRobust.Mixing;

namespace GroupRobust.Methods;

/// <summary>Options of <see cref="GroupJm1Method"/> (JM1 paper, Appendix D).</summary>
public sealed record GroupJm1Options
{
    /// <summary>The distribution of alpha over the epochs, one draw per batch (default the paper's "U/B": U(0, 1), then Beta(2, 5)).</summary>
    public AlphaSchedule Schedule { get; init; } = AlphaSchedule.UniformThenBeta();

    /// <summary>Which side alpha weights; the worst group is the minority side (default <see cref="AlphaOrientation.MajorityWeight"/>, as JM1).</summary>
    public AlphaOrientation Orientation { get; init; } = AlphaOrientation.MajorityWeight;

    /// <summary>Where the worst group is mixed with its partners (default <see cref="MixingLayer.Input"/>, the paper's); a hidden layer or <see cref="MixingLayer.Output"/> for text (token ids cannot be interpolated).</summary>
    public MixingLayer Layer { get; init; } = MixingLayer.Input;

    /// <summary>The final classifier module for <see cref="MixingLayer.Output"/>; null finds it (default).</summary>
    public string? ClassifierName { get; init; }
}
