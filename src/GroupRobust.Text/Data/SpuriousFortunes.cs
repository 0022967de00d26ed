using System.Text;
using System.Text.RegularExpressions;
using GroupRobust.Data;
using GroupRobust.Groups;
using GroupRobust.Randomness;
using GroupRobust.Text.Tokenization;
using static TorchSharp.torch;

namespace GroupRobust.Text.Data;

/// <summary>
/// A real-text benchmark with a planted spurious cue, from Debian's fortunes package: the class is the topic file a
/// fortune comes from (by default "computers" or "politics": real English quotes, jokes and definitions), and the
/// attribute is a cue put before the text naming who wrote it ("alice writes:" or "bob writes:"). In training, 95% of
/// each topic's texts carry that topic's cue (computers: alice, politics: bob), so a classifier can score well by
/// reading the name instead of the text; validation and test are balanced over the 4 groups (topic x cue), and the
/// minority groups (computers by bob, politics by alice) show whether it did. The cue is a token cue of the same kind as
/// MultiNLI's negation words, under control.
/// </summary>
/// <remarks>
/// Texts longer than <see cref="SpuriousFortunesOptions.MaxCharacters"/> are left out; whitespace runs become one space
/// and terminal overstrikes (character, backspace) are resolved. With the defaults: 822 computers and 634 politics
/// texts; per class 160 for test and 80 for validation (balanced over the cues), the rest for training (582 and 394,
/// of which 29 and 20 carry the other cue).
/// </remarks>
public static class SpuriousFortunes
{
    /// <summary>Where Debian's fortunes package installs its topic files.</summary>
    public const string DefaultDirectory = "/usr/share/games/fortunes";

    /// <summary>The texts, labels and attributes of the three splits (before tokenization).</summary>
    /// <param name="options">The topics, cues, correlation, split sizes and seed; the defaults when null.</param>
    /// <exception cref="ArgumentException">An option out of range, or a topic with too few texts for the validation and test groups (named, with the counts).</exception>
    /// <exception cref="FileNotFoundException">A topic file is missing (install Debian's fortunes package).</exception>
    public static TextSplits Texts(SpuriousFortunesOptions? options = null)
    {
        options ??= new SpuriousFortunesOptions();
        options.Validate();
        int topics = options.Topics.Count;
        var rng = new ReproducibleRandom(new SeedSource(options.Seed).Derive("fortunes"));
        var train = new List<LabeledText>();
        var validation = new List<LabeledText>();
        var test = new List<LabeledText>();
        for (int label = 0; label < topics; label++)
        {
            string path = Path.Combine(options.Directory, options.Topics[label]);
            var records = ReadRecords(path).Where(r => r.Length <= options.MaxCharacters).ToList();
            int held = topics * (options.ValidationPerGroup + options.TestPerGroup);
            if (records.Count < held + topics)
                throw new ArgumentException($"{path} has {records.Count} texts of at most {options.MaxCharacters} characters; the validation and test groups need {held} and training at least {topics} more.", nameof(options));
            Shuffling.Shuffle(records, rng);
            int at = 0;
            for (int a = 0; a < topics; a++)
            {
                for (int i = 0; i < options.TestPerGroup; i++) test.Add(Cued(records[at++], label, a, options));
                for (int i = 0; i < options.ValidationPerGroup; i++) validation.Add(Cued(records[at++], label, a, options));
            }
            var rest = records.Skip(at).ToList();
            int minority = (int)Math.Round((1 - options.SpuriousCorrelation) * rest.Count);
            for (int i = 0; i < rest.Count; i++)
            {
                // the first `minority` texts of the shuffled rest carry another topic's cue (uniformly among the others)
                int a = i >= minority ? label : (label + 1 + rng.Next(topics - 1)) % topics;
                train.Add(Cued(rest[i], label, a, options));
            }
        }
        Shuffling.Shuffle(train, rng);
        if (options.TrainSize is int size && size < train.Count) train.RemoveRange(size, train.Count - size);
        var scheme = new GroupScheme(topics, topics, options.Topics.ToArray(), options.CueNames.ToArray());
        return new TextSplits(scheme, train, validation, test);
    }

    /// <summary>The benchmark as token datasets [N, L, 3] for a BERT-family encoder (<see cref="Texts"/>, then <see cref="TextSplits.Tokenize"/>).</summary>
    /// <param name="tokenizer">The encoder's tokenizer (for all-MiniLM-L6-v2 or bert-base-uncased: their uncased vocab.txt).</param>
    /// <param name="options">The options; the defaults when null.</param>
    /// <param name="device">Where the datasets live (default the CPU).</param>
    /// <returns>The splits; the caller disposes them.</returns>
    public static DatasetSplits Load(WordPieceTokenizer tokenizer, SpuriousFortunesOptions? options = null, Device? device = null)
    {
        ArgumentNullException.ThrowIfNull(tokenizer);
        options ??= new SpuriousFortunesOptions();
        return Texts(options).Tokenize(tokenizer, options.MaxLength, device);
    }

    /// <summary>The records of a fortune file: texts separated by lines holding only "%", whitespace runs made one space, overstrikes resolved, empty records dropped.</summary>
    /// <param name="path">A fortune topic file (UTF-8 or ASCII text).</param>
    /// <exception cref="FileNotFoundException">The file does not exist (the message says which package installs it).</exception>
    public static IReadOnlyList<string> ReadRecords(string path)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        if (!File.Exists(path))
            throw new FileNotFoundException($"{path}: no such fortune file; install Debian's fortunes package ('apt-get install fortunes') or point Directory at the topic files.", path);
        var records = new List<string>();
        var current = new StringBuilder();
        void Flush()
        {
            string text = Whitespace.Replace(Overstrike.Replace(current.ToString(), ""), " ").Trim();
            if (text.Length > 0) records.Add(text);
            current.Clear();
        }
        foreach (var line in File.ReadLines(path, Encoding.UTF8))
        {
            if (line == "%") Flush();
            else current.Append(line).Append('\n');
        }
        Flush();
        return records;
    }

    private static LabeledText Cued(string text, int label, int attribute, SpuriousFortunesOptions options)
        => new($"{options.Cues[attribute]} {text}", label, attribute);

    private static readonly Regex Overstrike = new(".\b", RegexOptions.Compiled);
    private static readonly Regex Whitespace = new(@"[\s\p{Cc}]+", RegexOptions.Compiled);
}
