namespace GroupRobust.Data.FashionMnist;

/// <summary>
/// Options of <see cref="MultiAttributeFashionMnist"/>: K labels (each a union of Fashion-MNIST classes) on A background
/// colours, every label with its own majority colour and minority groups of different sizes.
/// </summary>
public sealed record MultiAttributeFashionMnistOptions
{
    /// <summary>Folder with the four IDX files (default /usr/share/datasets/fashion-mnist, from Debian's dataset-fashion-mnist).</summary>
    public string DataDirectory { get; init; } = FashionMnistFiles.DefaultDirectory;

    /// <summary>
    /// The Fashion-MNIST classes of each label, at least 2 labels (default three: Sandal+Sneaker, Bag+Ankle boot,
    /// T-shirt/top+Pullover); a Fashion-MNIST class may appear once.
    /// </summary>
    public IReadOnlyList<IReadOnlyList<int>> Labels { get; init; } = [[5, 7], [8, 9], [0, 2]];

    /// <summary>
    /// The training share of each label on each colour, majority first: label y's images get colour (y + j) mod A for a
    /// share <c>AttributeFractions[j]</c> (exact counts), where A is the number of fractions. Default [0.90, 0.07, 0.03]:
    /// three colours, every label 90% on its own colour and two minority groups of 7% and 3%. At least 2 fractions, each in
    /// [0, 1], summing to 1, the first the largest.
    /// </summary>
    public IReadOnlyList<double> AttributeFractions { get; init; } = [0.90, 0.07, 0.03];

    /// <summary>Validation images per group (label, colour), held out from the training file (default 150), at least 1.</summary>
    public int ValidationPerGroup { get; init; } = 150;

    /// <summary>Training images after the validation hold-out, label-balanced; null (default) keeps all of them.</summary>
    public int? TrainSize { get; init; }

    /// <summary>Test images per group from the test file; null (default) spreads each label's test images evenly over the colours.</summary>
    public int? TestPerGroup { get; init; }

    /// <summary>Background colours (RGB in [0, 1]), one per fraction (default orange, blue, green).</summary>
    public IReadOnlyList<float> Palette { get; init; } = [0.95f, 0.55f, 0.10f, 0.10f, 0.45f, 0.95f, 0.15f, 0.70f, 0.20f];

    /// <summary>The colours' names, one per fraction (default "orange", "blue", "green").</summary>
    public IReadOnlyList<string> ColourNames { get; init; } = ["orange", "blue", "green"];

    /// <summary>Seed of the splits and the colour assignment (default 0).</summary>
    public long Seed { get; init; }

    /// <summary>The label names: the joined Fashion-MNIST class names, e.g. "Sandal+Sneaker".</summary>
    public IReadOnlyList<string> LabelNames() => Labels.Select(l => string.Join("+", l.Select(c => FashionMnistFiles.ClassNames[c]))).ToArray();

    /// <summary>Throws when an option is out of range (the message names the option, the expected and the actual value).</summary>
    public void Validate()
    {
        ArgumentNullException.ThrowIfNull(Labels, nameof(Labels));
        ArgumentNullException.ThrowIfNull(AttributeFractions, nameof(AttributeFractions));
        if (Labels.Count < 2) throw new ArgumentException($"At least 2 labels are needed, got {Labels.Count}.", nameof(Labels));
        if (Labels.Any(l => l is null || l.Count == 0)) throw new ArgumentException("Each label needs at least one Fashion-MNIST class.", nameof(Labels));
        var all = Labels.SelectMany(l => l).ToList();
        if (all.Any(c => c is < 0 or > 9)) throw new ArgumentOutOfRangeException(nameof(Labels), $"Fashion-MNIST classes are 0..9, got [{string.Join(", ", all)}].");
        if (all.Distinct().Count() != all.Count) throw new ArgumentException($"A Fashion-MNIST class may appear in only one label, got [{string.Join(", ", all)}].", nameof(Labels));
        int a = AttributeFractions.Count;
        if (a < 2) throw new ArgumentException($"At least 2 colours (fractions) are needed, got {a}.", nameof(AttributeFractions));
        if (AttributeFractions.Any(f => !(f >= 0 && f <= 1)))
            throw new ArgumentOutOfRangeException(nameof(AttributeFractions), $"Each fraction must be in [0, 1], got [{string.Join(", ", AttributeFractions)}].");
        if (Math.Abs(AttributeFractions.Sum() - 1) > 1e-9)
            throw new ArgumentException($"The fractions must sum to 1, got {AttributeFractions.Sum()}.", nameof(AttributeFractions));
        if (AttributeFractions.Skip(1).Any(f => f > AttributeFractions[0]))
            throw new ArgumentException($"The first fraction (each label's own colour) must be the largest, got [{string.Join(", ", AttributeFractions)}].", nameof(AttributeFractions));
        if (ValidationPerGroup < 1) throw new ArgumentOutOfRangeException(nameof(ValidationPerGroup), ValidationPerGroup, "Must be >= 1.");
        if (TrainSize is int t && t < Labels.Count) throw new ArgumentOutOfRangeException(nameof(TrainSize), t, $"Must be >= {Labels.Count} (one image per label).");
        if (TestPerGroup is < 1) throw new ArgumentOutOfRangeException(nameof(TestPerGroup), TestPerGroup, "Must be >= 1.");
        if (Palette is null || Palette.Count != 3 * a || Palette.Any(v => v is < 0 or > 1))
            throw new ArgumentException($"The palette needs {a} RGB colours (one per fraction, {3 * a} values) with components in [0, 1], got {Palette?.Count ?? 0} values.", nameof(Palette));
        if (ColourNames is null || ColourNames.Count != a) throw new ArgumentException($"{a} colour names are needed (one per fraction), got {ColourNames?.Count ?? 0}.", nameof(ColourNames));
    }

    /// <summary>Collections print as their items, not as "System.String[]" (the members of the compiler's <c>ToString</c>).</summary>
    private bool PrintMembers(System.Text.StringBuilder builder) => GroupRobust.Internal.RecordText.Print(this, builder);
}
