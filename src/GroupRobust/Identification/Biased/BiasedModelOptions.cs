namespace GroupRobust.Identification;

/// <summary>Options of <see cref="BiasedModelIdentifier"/>.</summary>
public sealed record BiasedModelOptions
{
    /// <summary>
    /// Training epochs of the biased model, at least 1 (default 1: the easy feature is learned within the first epoch,
    /// and every further epoch lets the network fit more of the minority; docs/results.md measures 1 to 3).
    /// </summary>
    public int Epochs { get; init; } = 1;

    /// <summary>Batch size, at least 2 (default 64).</summary>
    public int BatchSize { get; init; } = 64;

    /// <summary>
    /// The GCE exponent q in (0, 1] (default 1: each sample's gradient is its cross-entropy gradient times its fitted
    /// probability p_y, the strongest preference for easy samples GCE allows; LfF trains with 0.7). Larger values amplify
    /// the easy feature more.
    /// </summary>
    public double Q { get; init; } = 1.0;

    /// <summary>Batch size and device of the read-out pass.</summary>
    public IdentificationOptions Pass { get; init; } = new();

    /// <summary>Throws when an option is out of range.</summary>
    public void Validate()
    {
        if (Epochs < 1) throw new ArgumentOutOfRangeException(nameof(Epochs), Epochs, "At least one epoch.");
        if (BatchSize < 2) throw new ArgumentOutOfRangeException(nameof(BatchSize), BatchSize, "At least 2.");
        if (!(Q > 0 && Q <= 1)) throw new ArgumentOutOfRangeException(nameof(Q), Q, "Must be in (0, 1].");
        ArgumentNullException.ThrowIfNull(Pass, nameof(Pass));
        Pass.Validate();
    }
}
