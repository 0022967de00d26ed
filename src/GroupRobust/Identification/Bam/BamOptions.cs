namespace GroupRobust.Identification;

/// <summary>Options of <see cref="BamIdentifier"/> (Li et al., 2023, "Bias amplification enhances minority group performance").</summary>
public sealed record BamOptions
{
    /// <summary>
    /// Training epochs T of the bias-amplified model, at least 1 (default 3; the reference chooses T on validation among
    /// its stage-1 epochs, 20 of 150 on Waterbirds; on the library's small tasks phase I runs 1 to 3).
    /// </summary>
    public int Epochs { get; init; } = 3;

    /// <summary>
    /// The coefficient lambda of the auxiliary logits, at least 0 (default 50, the reference's Waterbirds and CelebA
    /// command; its script's default is 0.5). 0 trains plain ERM.
    /// </summary>
    public double AuxiliaryWeight { get; init; } = 50;

    /// <summary>Batch size, at least 2 (default 64).</summary>
    public int BatchSize { get; init; } = 64;

    /// <summary>Batch size and device of the read-out pass (the network alone, without the auxiliary logits).</summary>
    public IdentificationOptions Pass { get; init; } = new();

    /// <summary>Throws when an option is out of range (the parameter name is the option's).</summary>
    public void Validate()
    {
        if (Epochs < 1) throw new ArgumentOutOfRangeException(nameof(Epochs), Epochs, "At least one epoch.");
        if (!(AuxiliaryWeight >= 0 && double.IsFinite(AuxiliaryWeight))) throw new ArgumentOutOfRangeException(nameof(AuxiliaryWeight), AuxiliaryWeight, "Must be a finite number >= 0.");
        if (BatchSize < 2) throw new ArgumentOutOfRangeException(nameof(BatchSize), BatchSize, "At least 2.");
        ArgumentNullException.ThrowIfNull(Pass, nameof(Pass));
        Pass.Validate();
    }
}
