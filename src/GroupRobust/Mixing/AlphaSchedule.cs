namespace GroupRobust.Mixing;

/// <summary>
/// The distribution of the mixing weight alpha over training, as in the JM1 paper: U(0, 1), Beta(2, 5), a constant,
/// or two schedules coupled at an epoch ("U/B": U(0, 1) for the first half of the epochs, Beta(2, 5) for the second,
/// used for CUB and CelebA). Schedules are stateless: a draw depends only on the epoch and the generator passed in,
/// so resuming needs only the epoch and the generator's state.
/// </summary>
public abstract class AlphaSchedule
{
    /// <summary>A readable name for reports, e.g. "U(0,1)", "Beta(2,5)", "U/B".</summary>
    public abstract string Name { get; }

    /// <summary>One alpha in [0, 1] for epoch <paramref name="epoch"/> of <paramref name="totalEpochs"/> (one draw per mini-batch, the paper's default).</summary>
    /// <param name="epoch">The epoch, in [1, totalEpochs] (epoch 1 is the first pass).</param>
    /// <param name="totalEpochs">Number of phase-II epochs, at least 1.</param>
    /// <param name="rng">The generator (advanced).</param>
    public double Sample(int epoch, int totalEpochs, Random rng)
    {
        CheckEpoch(epoch, totalEpochs);
        ArgumentNullException.ThrowIfNull(rng);
        return Draw(epoch, totalEpochs, rng);
    }

    /// <summary><paramref name="count"/> independent alphas (one per sample).</summary>
    /// <param name="epoch">The epoch, in [1, totalEpochs] (epoch 1 is the first pass).</param>
    /// <param name="totalEpochs">Number of phase-II epochs, at least 1.</param>
    /// <param name="rng">The generator (advanced).</param>
    /// <param name="count">Number of draws, at least 0.</param>
    public double[] Sample(int epoch, int totalEpochs, Random rng, int count)
    {
        CheckEpoch(epoch, totalEpochs);
        ArgumentNullException.ThrowIfNull(rng);
        ArgumentOutOfRangeException.ThrowIfNegative(count);
        var result = new double[count];
        for (int i = 0; i < count; i++) result[i] = Draw(epoch, totalEpochs, rng);
        return result;
    }

    /// <summary>The expected alpha at <paramref name="epoch"/>.</summary>
    public double Mean(int epoch, int totalEpochs)
    {
        CheckEpoch(epoch, totalEpochs);
        return MeanAt(epoch, totalEpochs);
    }

    /// <summary>Draws one alpha; arguments are already validated.</summary>
    protected abstract double Draw(int epoch, int totalEpochs, Random rng);

    /// <summary>The expected alpha; arguments are already validated.</summary>
    protected abstract double MeanAt(int epoch, int totalEpochs);

    /// <inheritdoc />
    public override string ToString() => Name;

    /// <summary>U(lo, hi); U(0, 1) by default.</summary>
    /// <param name="lo">Lower bound in [0, 1].</param>
    /// <param name="hi">Upper bound in [lo, 1].</param>
    public static AlphaSchedule Uniform(double lo = 0, double hi = 1) => new UniformAlpha(lo, hi);

    /// <summary>Beta(a, b) (MathNet.Numerics); Beta(2, 5) has mean 2/7 ≈ 0.29.</summary>
    /// <param name="a">Shape a &gt; 0.</param>
    /// <param name="b">Shape b &gt; 0.</param>
    public static AlphaSchedule Beta(double a, double b) => new BetaAlpha(a, b);

    /// <summary>A fixed alpha in [0, 1].</summary>
    public static AlphaSchedule Constant(double alpha) => new ConstantAlpha(alpha);

    /// <summary>
    /// <paramref name="first"/> for epochs before the switch and <paramref name="second"/> from it on; the switch epoch
    /// is floor(<paramref name="switchFraction"/> * totalEpochs) + 1 (10 epochs, 0.5: epochs 1-5, then 6-10).
    /// </summary>
    public static AlphaSchedule Coupled(AlphaSchedule first, AlphaSchedule second, double switchFraction = 0.5)
        => new CoupledAlpha(first, second, switchFraction);

    /// <summary>The paper's "U/B" schedule: U(0, 1) for the first half of the epochs, Beta(2, 5) for the second.</summary>
    public static AlphaSchedule UniformThenBeta() => new CoupledAlpha(Uniform(), Beta(2, 5), 0.5, "U/B");

    private static void CheckEpoch(int epoch, int totalEpochs)
    {
        if (totalEpochs < 1) throw new ArgumentOutOfRangeException(nameof(totalEpochs), totalEpochs, "At least one epoch is needed.");
        if (epoch < 1 || epoch > totalEpochs)
            throw new ArgumentOutOfRangeException(nameof(epoch), epoch, $"Epoch must be in [1, {totalEpochs}] (epochs are numbered from 1).");
    }
}
