using System.Globalization;
using MathNet.Numerics.Distributions;

namespace GroupRobust.Mixing;

/// <summary>alpha ~ U(lo, hi) (MathNet's ContinuousUniform).</summary>
internal sealed class UniformAlpha : AlphaSchedule
{
    /// <summary>Creates the schedule.</summary>
    /// <param name="lo">Lower bound in [0, 1].</param>
    /// <param name="hi">Upper bound in [lo, 1].</param>
    public UniformAlpha(double lo = 0, double hi = 1)
    {
        if (!(lo >= 0 && lo <= 1)) throw new ArgumentOutOfRangeException(nameof(lo), lo, "Must be in [0, 1].");
        if (!(hi >= lo && hi <= 1)) throw new ArgumentOutOfRangeException(nameof(hi), hi, $"Must be in [{lo}, 1].");
        Lo = lo;
        Hi = hi;
    }

    /// <summary>Lower bound.</summary>
    public double Lo { get; }

    /// <summary>Upper bound.</summary>
    public double Hi { get; }

    /// <inheritdoc />
    public override string Name => string.Create(CultureInfo.InvariantCulture, $"U({Lo:G},{Hi:G})");

    /// <inheritdoc />
    protected override double Draw(int epoch, int totalEpochs, Random rng) => Lo == Hi ? Lo : ContinuousUniform.Sample(rng, Lo, Hi);

    /// <inheritdoc />
    protected override double MeanAt(int epoch, int totalEpochs) => (Lo + Hi) / 2;
}
