namespace GroupRobust.Text.Data;

/// <summary>Options of <see cref="SpuriousFortunes"/>, the text benchmark on Debian's fortune files.</summary>
public sealed record SpuriousFortunesOptions
{
    /// <summary>The folder of the fortune topic files (default /usr/share/games/fortunes, from Debian's fortunes package).</summary>
    public string Directory { get; init; } = SpuriousFortunes.DefaultDirectory;

    /// <summary>The topic files that are the classes, two or more (default "computers" and "politics").</summary>
    public IReadOnlyList<string> Topics { get; init; } = ["computers", "politics"];

    /// <summary>
    /// The spurious cue of each attribute value, one per topic: a prefix naming who wrote the text (default "alice
    /// writes:" and "bob writes:"). Attribute a puts cue a before the text.
    /// </summary>
    public IReadOnlyList<string> Cues { get; init; } = ["alice writes:", "bob writes:"];

    /// <summary>The attribute names, one per cue (default "alice", "bob").</summary>
    public IReadOnlyList<string> CueNames { get; init; } = ["alice", "bob"];

    /// <summary>Fraction of each training class whose cue agrees with its topic (default 0.95, as Waterbirds), in [1/topics, 1].</summary>
    public double SpuriousCorrelation { get; init; } = 0.95;

    /// <summary>Validation texts per group (topic x cue), group-balanced (default 40).</summary>
    public int ValidationPerGroup { get; init; } = 40;

    /// <summary>Test texts per group, group-balanced (default 80).</summary>
    public int TestPerGroup { get; init; } = 80;

    /// <summary>Training texts kept (the first of the shuffled training split, so the cue still agrees in about <see cref="SpuriousCorrelation"/> of each class); null (default) keeps all. Smaller values make quick runs.</summary>
    public int? TrainSize { get; init; }

    /// <summary>Texts longer than this many characters are left out, so sequences stay short on a CPU (default 300).</summary>
    public int MaxCharacters { get; init; } = 300;

    /// <summary>Most tokens per text, [CLS] and [SEP] included (default 64).</summary>
    public int MaxLength { get; init; } = 64;

    /// <summary>Seed of the splits and of the cue assignment (default 0).</summary>
    public long Seed { get; init; }

    /// <summary>Throws when an option is out of range (the option is named).</summary>
    /// <exception cref="ArgumentException">An option out of range.</exception>
    public void Validate()
    {
        ArgumentException.ThrowIfNullOrEmpty(Directory, nameof(Directory));
        ArgumentNullException.ThrowIfNull(Topics, nameof(Topics));
        ArgumentNullException.ThrowIfNull(Cues, nameof(Cues));
        ArgumentNullException.ThrowIfNull(CueNames, nameof(CueNames));
        if (Topics.Count < 2) throw new ArgumentException($"Topics has {Topics.Count} entries; a benchmark needs at least two classes.", nameof(Topics));
        if (Topics.Any(string.IsNullOrWhiteSpace)) throw new ArgumentException($"Topics holds a blank name: {string.Join(", ", Topics.Select(t => t is null ? "null" : $"'{t}'"))}.", nameof(Topics));
        if (Topics.Distinct().Count() != Topics.Count) throw new ArgumentException($"Topics repeats a topic: {string.Join(", ", Topics)}.", nameof(Topics));
        if (Cues.Count != Topics.Count || CueNames.Count != Topics.Count)
            throw new ArgumentException($"{Cues.Count} cues and {CueNames.Count} cue names for {Topics.Count} topics; give one of each per topic.", nameof(Cues));
        if (Cues.Any(string.IsNullOrWhiteSpace) || Cues.Distinct().Count() != Cues.Count)
            throw new ArgumentException("Cues must be distinct and not blank.", nameof(Cues));
        if (CueNames.Any(string.IsNullOrWhiteSpace) || CueNames.Distinct().Count() != CueNames.Count)
            throw new ArgumentException($"CueNames must be distinct and not blank: {string.Join(", ", CueNames.Select(c => c is null ? "null" : $"'{c}'"))}.", nameof(CueNames));
        double low = 1.0 / Topics.Count;
        if (!(SpuriousCorrelation >= low && SpuriousCorrelation <= 1))
            throw new ArgumentOutOfRangeException(nameof(SpuriousCorrelation), SpuriousCorrelation, $"Expected [{low:G3}, 1].");
        ArgumentOutOfRangeException.ThrowIfLessThan(ValidationPerGroup, 1, nameof(ValidationPerGroup));
        ArgumentOutOfRangeException.ThrowIfLessThan(TestPerGroup, 1, nameof(TestPerGroup));
        ArgumentOutOfRangeException.ThrowIfLessThan(MaxCharacters, 1, nameof(MaxCharacters));
        if (TrainSize is < 2) throw new ArgumentOutOfRangeException(nameof(TrainSize), TrainSize, "Expected at least 2 training texts, or null for all.");
        ArgumentOutOfRangeException.ThrowIfLessThan(MaxLength, 3, nameof(MaxLength));
    }

    /// <summary>Collections print as their items, not as "System.String[]" (the members of the compiler's <c>ToString</c>).</summary>
    private bool PrintMembers(System.Text.StringBuilder builder) => GroupRobust.Internal.RecordText.Print(this, builder);
}
