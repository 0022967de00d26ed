namespace GroupRobust.Data.FashionMnist;

/// <summary>Options of <see cref="ColoredFashionMnist"/>, the ten-class, ten-colour variant (the JM1 paper's Figure 1 setting).</summary>
public sealed record ColoredFashionMnistOptions
{
    /// <summary>Folder with the four IDX files (default /usr/share/datasets/fashion-mnist).</summary>
    public string DataDirectory { get; init; } = FashionMnistFiles.DefaultDirectory;

    /// <summary>Fraction of each training class drawn in its own colour (class k: colour k; default 0.95), in [0.1, 1]; the others get a uniformly random other colour.</summary>
    public double MatchFraction { get; init; } = 0.95;

    /// <summary>Validation images per class held out from the training file, colours uniform (default 200).</summary>
    public int ValidationPerClass { get; init; } = 200;

    /// <summary>Training images per class after the hold-out; null (default) keeps all.</summary>
    public int? TrainPerClass { get; init; }

    /// <summary>Test images per class, colours uniform; null (default) keeps all (1000 per class).</summary>
    public int? TestPerClass { get; init; }

    /// <summary>Seed (default 0).</summary>
    public long Seed { get; init; }

    /// <summary>Throws when an option is out of range.</summary>
    public void Validate()
    {
        if (!(MatchFraction >= 0.1 && MatchFraction <= 1)) throw new ArgumentOutOfRangeException(nameof(MatchFraction), MatchFraction, "Must be in [0.1, 1].");
        if (ValidationPerClass < 10) throw new ArgumentOutOfRangeException(nameof(ValidationPerClass), ValidationPerClass, "Must be >= 10 (one per colour).");
        if (TrainPerClass is < 1) throw new ArgumentOutOfRangeException(nameof(TrainPerClass), TrainPerClass, "Must be >= 1.");
        if (TestPerClass is < 10) throw new ArgumentOutOfRangeException(nameof(TestPerClass), TestPerClass, "Must be >= 10.");
    }
}
