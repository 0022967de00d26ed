using System.Globalization;

namespace GroupRobust.Mixing;

/// <summary>A fixed alpha (no randomness; the generator is not advanced).</summary>
internal sealed class ConstantAlpha : AlphaSchedule
{
    /// <summary>Creates the schedule.</summary>
    /// <param name="alpha">The value, in [0, 1].</param>
    public ConstantAlpha(double alpha)
    {
        if (!(alpha >= 0 && alpha <= 1)) throw new ArgumentOutOfRangeException(nameof(alpha), alpha, "alpha must be in [0, 1].");
        Alpha = alpha;
    }

    /// <summary>The value.</summary>
    public double Alpha { get; }

    /// <inheritdoc />
    public override string Name => Alpha.ToString("G", CultureInfo.InvariantCulture);

    /// <inheritdoc />
    protected override double Draw(int epoch, int totalEpochs, Random rng) => Alpha;

    /// <inheritdoc />
    protected override double MeanAt(int epoch, int totalEpochs) => Alpha;
}
