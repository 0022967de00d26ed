namespace GroupRobust.Data;

/// <summary>
/// Options of <see cref="SyntheticGaussianDataset"/>, the two-feature Gaussian task of the JM1 paper's Appendix C.
/// All sizes are per split; validation and test are group-balanced.
/// </summary>
public sealed record SyntheticGaussianOptions
{
    /// <summary>Training samples (default 2000); at least 4.</summary>
    public int TrainSize { get; init; } = 2000;

    /// <summary>Validation samples, group-balanced (default 400); at least 4.</summary>
    public int ValidationSize { get; init; } = 400;

    /// <summary>Test samples, group-balanced (default 2000); at least 4.</summary>
    public int TestSize { get; init; } = 2000;

    /// <summary>Fraction of each training class whose spurious feature disagrees with its label (default 0.05), in [0, 0.5].</summary>
    public double MinorityFraction { get; init; } = 0.05;

    /// <summary>Input dimension d (default 2; at least 2). Dimension 0 carries the spurious feature c, dimension 1 the label y, the rest is noise.</summary>
    public int Dimensions { get; init; } = 2;

    /// <summary>Standard deviation of the isotropic noise, sigma (default 0.5); greater than 0.</summary>
    public double Sigma { get; init; } = 0.5;

    /// <summary>
    /// Distance between the two spurious-feature means, s (default 1: the paper's mean (c, y)). The mean becomes (s c, y):
    /// s &gt; 1 makes the spurious cue easier than the core one, the regime where ERM relies on it and misclassifies the
    /// minority groups. Greater than 0.
    /// </summary>
    public double SpuriousScale { get; init; } = 1.0;

    /// <summary>Seed of the generator (default 0).</summary>
    public long Seed { get; init; }

    /// <summary>Throws when an option is out of range.</summary>
    public void Validate()
    {
        if (TrainSize < 4) throw new ArgumentOutOfRangeException(nameof(TrainSize), TrainSize, "At least 4 training samples are needed.");
        if (ValidationSize < 4) throw new ArgumentOutOfRangeException(nameof(ValidationSize), ValidationSize, "At least 4 validation samples are needed.");
        if (TestSize < 4) throw new ArgumentOutOfRangeException(nameof(TestSize), TestSize, "At least 4 test samples are needed.");
        if (!(MinorityFraction >= 0 && MinorityFraction <= 0.5)) throw new ArgumentOutOfRangeException(nameof(MinorityFraction), MinorityFraction, "Must be in [0, 0.5].");
        if (Dimensions < 2) throw new ArgumentOutOfRangeException(nameof(Dimensions), Dimensions, "At least 2 dimensions are needed.");
        if (!(Sigma > 0) || double.IsInfinity(Sigma)) throw new ArgumentOutOfRangeException(nameof(Sigma), Sigma, "Must be a finite number > 0.");
        if (!(SpuriousScale > 0) || double.IsInfinity(SpuriousScale)) throw new ArgumentOutOfRangeException(nameof(SpuriousScale), SpuriousScale, "Must be a finite number > 0.");
    }
}
