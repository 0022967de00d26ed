namespace GroupRobust.Identification;

/// <summary>Options of <see cref="LossMagnitudeIdentifier"/>.</summary>
public sealed record LossMagnitudeOptions
{
    /// <summary>The fraction of samples put in the error set, in (0, 1) (default 0.1; the identifier has no published default).</summary>
    public double Fraction { get; init; } = 0.1;

    /// <summary>Take the top fraction of every class rather than of the whole set (default false).</summary>
    public bool PerClass { get; init; }

    /// <summary>Batch size, device and epoch tag of the model pass.</summary>
    public IdentificationOptions Pass { get; init; } = new();
}
