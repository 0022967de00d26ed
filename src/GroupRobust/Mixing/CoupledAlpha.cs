namespace GroupRobust.Mixing;

/// <summary>Two schedules in sequence: <see cref="First"/> before the switch epoch, <see cref="Second"/> from it on.</summary>
internal sealed class CoupledAlpha : AlphaSchedule
{
    private readonly string? _name;

    /// <summary>Creates the schedule.</summary>
    /// <param name="first">Schedule of the early epochs.</param>
    /// <param name="second">Schedule of the late epochs.</param>
    /// <param name="switchFraction">Fraction of the epochs run with <paramref name="first"/>, in [0, 1] (default 0.5).</param>
    /// <param name="name">Report name; "first/second" by default.</param>
    public CoupledAlpha(AlphaSchedule first, AlphaSchedule second, double switchFraction = 0.5, string? name = null)
    {
        ArgumentNullException.ThrowIfNull(first);
        ArgumentNullException.ThrowIfNull(second);
        if (!(switchFraction >= 0 && switchFraction <= 1))
            throw new ArgumentOutOfRangeException(nameof(switchFraction), switchFraction, "Must be in [0, 1].");
        First = first;
        Second = second;
        SwitchFraction = switchFraction;
        _name = name;
    }

    /// <summary>Schedule of the early epochs.</summary>
    public AlphaSchedule First { get; }

    /// <summary>Schedule of the late epochs.</summary>
    public AlphaSchedule Second { get; }

    /// <summary>Fraction of the epochs run with <see cref="First"/>.</summary>
    public double SwitchFraction { get; }

    /// <inheritdoc />
    public override string Name => _name ?? $"{First.Name}/{Second.Name}";

    /// <summary>The first epoch that uses <see cref="Second"/>: floor(SwitchFraction * totalEpochs) + 1 (epochs are numbered from 1).</summary>
    public int SwitchEpoch(int totalEpochs) => (int)Math.Floor(SwitchFraction * totalEpochs + 1e-9) + 1;

    /// <summary>The schedule in force at <paramref name="epoch"/>.</summary>
    public AlphaSchedule At(int epoch, int totalEpochs) => epoch < SwitchEpoch(totalEpochs) ? First : Second;

    /// <inheritdoc />
    protected override double Draw(int epoch, int totalEpochs, Random rng) => At(epoch, totalEpochs).Sample(epoch, totalEpochs, rng);

    /// <inheritdoc />
    protected override double MeanAt(int epoch, int totalEpochs) => At(epoch, totalEpochs).Mean(epoch, totalEpochs);
}
