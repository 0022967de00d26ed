namespace GroupRobust.Data.FashionMnist;

/// <summary>Options of <see cref="SpuriousFashionMnist"/>, the Waterbirds-like binary benchmark on Fashion-MNIST.</summary>
public sealed record SpuriousFashionMnistOptions
{
    /// <summary>Folder with the four IDX files (default /usr/share/datasets/fashion-mnist, from Debian's dataset-fashion-mnist).</summary>
    public string DataDirectory { get; init; } = FashionMnistFiles.DefaultDirectory;

    /// <summary>Fashion-MNIST classes that form label 0 (default Sandal, Sneaker: low shoes).</summary>
    public IReadOnlyList<int> Label0Classes { get; init; } = [5, 7];

    /// <summary>Fashion-MNIST classes that form label 1 (default Bag, Ankle boot).</summary>
    public IReadOnlyList<int> Label1Classes { get; init; } = [8, 9];

    /// <summary>The label names in use: <see cref="LabelNames"/>, or the joined Fashion-MNIST class names.</summary>
    public IReadOnlyList<string> ResolvedLabelNames()
        => LabelNames ?? [string.Join("+", Label0Classes.Select(c => FashionMnistFiles.ClassNames[c])), string.Join("+", Label1Classes.Select(c => FashionMnistFiles.ClassNames[c]))];

    /// <summary>Fraction of each training class whose background colour agrees with its label (default 0.95, as Waterbirds), in [0.5, 1].</summary>
    public double SpuriousCorrelation { get; init; } = 0.95;

    /// <summary>Validation samples held out from the training file, group-balanced (default 2000: 500 per group); multiple of 4.</summary>
    public int ValidationSize { get; init; } = 2000;

    /// <summary>Training samples after the validation hold-out; null (default) keeps all of them. Smaller values make quick runs.</summary>
    public int? TrainSize { get; init; }

    /// <summary>Test samples from the test file, group-balanced; null (default) keeps all of the chosen classes.</summary>
    public int? TestSize { get; init; }

    /// <summary>Background colours (RGB in [0, 1]) of attribute 0 and 1 (default orange and blue).</summary>
    public IReadOnlyList<float> Palette { get; init; } = [0.95f, 0.55f, 0.10f, 0.10f, 0.45f, 0.95f];

    /// <summary>Names of label 0 and 1; null (default) joins the Fashion-MNIST class names, e.g. "Sandal+Sneaker".</summary>
    public IReadOnlyList<string>? LabelNames { get; init; }

    /// <summary>Names of the two background colours (default "orange", "blue").</summary>
    public IReadOnlyList<string> ColourNames { get; init; } = ["orange", "blue"];

    /// <summary>Seed of the splits and colour assignment (default 0).</summary>
    public long Seed { get; init; }

    /// <summary>Throws when an option is out of range.</summary>
    public void Validate()
    {
        if (Label0Classes.Count == 0 || Label1Classes.Count == 0)
            throw new ArgumentException("Each label needs at least one Fashion-MNIST class.", nameof(Label0Classes));
        if (Label0Classes.Concat(Label1Classes).Any(c => c is < 0 or > 9))
            throw new ArgumentOutOfRangeException(nameof(Label0Classes), "Fashion-MNIST classes are 0..9.");
        if (Label0Classes.Intersect(Label1Classes).Any() || Label0Classes.Concat(Label1Classes).Distinct().Count() != Label0Classes.Count + Label1Classes.Count)
            throw new ArgumentException("A Fashion-MNIST class may appear only once across the two labels.", nameof(Label1Classes));
        if (!(SpuriousCorrelation >= 0.5 && SpuriousCorrelation <= 1))
            throw new ArgumentOutOfRangeException(nameof(SpuriousCorrelation), SpuriousCorrelation, "Must be in [0.5, 1].");
        if (ValidationSize < 4 || ValidationSize % 4 != 0)
            throw new ArgumentOutOfRangeException(nameof(ValidationSize), ValidationSize, "Must be a positive multiple of 4 (balanced groups).");
        if (TrainSize is < 2) throw new ArgumentOutOfRangeException(nameof(TrainSize), TrainSize, "Must be >= 2.");
        if (TestSize is < 4) throw new ArgumentOutOfRangeException(nameof(TestSize), TestSize, "Must be >= 4.");
        if (Palette.Count != 6 || Palette.Any(v => v is < 0 or > 1))
            throw new ArgumentException("The palette needs two RGB colours with components in [0, 1].", nameof(Palette));
        if ((LabelNames is not null && LabelNames.Count != 2) || ColourNames.Count != 2)
            throw new ArgumentException("Two label names and two colour names are needed.", nameof(LabelNames));
    }

    /// <summary>Collections print as their items, not as "System.String[]" (the members of the compiler's <c>ToString</c>).</summary>
    private bool PrintMembers(System.Text.StringBuilder builder) => GroupRobust.Internal.RecordText.Print(this, builder);
}
