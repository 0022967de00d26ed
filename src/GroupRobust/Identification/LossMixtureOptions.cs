namespace GroupRobust.Identification;

/// <summary>Options of <see cref="LossMixtureIdentifier"/>.</summary>
public sealed record LossMixtureOptions
{
    /// <summary>
    /// The posterior probability of the high-loss component above which a sample joins the error set, in (0, 1)
    /// (default 0.5, DivideMix's clean/noisy split read the other way round).
    /// </summary>
    public double Threshold { get; init; } = 0.5;

    /// <summary>
    /// The least mean cross entropy, in nats, of a class's high-loss component for it to count (default ln 2: on average
    /// the true class gets at most half the probability); a class whose high component is lower has one mode of well-fitted
    /// samples, and only its misclassified samples (with <see cref="IncludeMisclassified"/>) join the error set. At least 0.
    /// </summary>
    public double MinimumHighLoss { get; init; } = Math.Log(2);

    /// <summary>Keep every misclassified sample in the error set as well (default true): the mixture widens JTT's error set, it never drops an error.</summary>
    public bool IncludeMisclassified { get; init; } = true;

    /// <summary>Batch size, device and epoch tag of the model pass.</summary>
    public IdentificationOptions Pass { get; init; } = new();

    /// <summary>Throws when an option is out of range.</summary>
    public void Validate()
    {
        if (!(Threshold > 0 && Threshold < 1)) throw new ArgumentOutOfRangeException(nameof(Threshold), Threshold, "Must be in (0, 1).");
        if (!(MinimumHighLoss >= 0) || double.IsInfinity(MinimumHighLoss)) throw new ArgumentOutOfRangeException(nameof(MinimumHighLoss), MinimumHighLoss, "Must be a finite number >= 0.");
        ArgumentNullException.ThrowIfNull(Pass, nameof(Pass));
        Pass.Validate();
    }
}
