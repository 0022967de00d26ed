namespace GroupRobust.Methods;

/// <summary>Options of <see cref="IrmMethod"/> (Arjovsky et al., 2019), with SubpopBench's defaults.</summary>
public sealed record IrmOptions
{
    /// <summary>The penalty weight lambda once the annealing steps are done, at least 0 (default 100, SubpopBench's; its random search draws 10^U(-1, 5)).</summary>
    public double PenaltyWeight { get; init; } = 100;

    /// <summary>The number of loss steps during which the penalty weighs 1 instead of lambda, at least 0 (default 500, SubpopBench's; its random search draws 10^U(0, 4)).</summary>
    public int AnnealSteps { get; init; } = 500;
}
