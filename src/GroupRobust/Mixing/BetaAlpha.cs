using System.Globalization;

namespace GroupRobust.Mixing;

/// <summary>alpha ~ Beta(a, b) (MathNet's Beta). Beta(2, 5): mean 2/7, variance 10/392.</summary>
internal sealed class BetaAlpha : AlphaSchedule
{
    /// <summary>Creates the schedule.</summary>
    /// <param name="a">Shape a, finite and &gt; 0.</param>
    /// <param name="b">Shape b, finite and &gt; 0.</param>
    public BetaAlpha(double a, double b)
    {
        if (!(a > 0) || double.IsInfinity(a)) throw new ArgumentOutOfRangeException(nameof(a), a, "Beta shape a must be a finite number > 0.");
        if (!(b > 0) || double.IsInfinity(b)) throw new ArgumentOutOfRangeException(nameof(b), b, "Beta shape b must be a finite number > 0.");
        A = a;
        B = b;
    }

    /// <summary>Shape a.</summary>
    public double A { get; }

    /// <summary>Shape b.</summary>
    public double B { get; }

    /// <inheritdoc />
    public override string Name => string.Create(CultureInfo.InvariantCulture, $"Beta({A:G},{B:G})");

    /// <inheritdoc />
    protected override double Draw(int epoch, int totalEpochs, Random rng) => MathNet.Numerics.Distributions.Beta.Sample(rng, A, B);

    /// <inheritdoc />
    protected override double MeanAt(int epoch, int totalEpochs) => A / (A + B);
}
