using System.Text;
using FastBertTokenizer;
using TorchSharp;
using static TorchSharp.torch;

namespace GroupRobust.Text.Tokenization;

/// <summary>
/// BERT's WordPiece tokenization of texts and sentence pairs into the token batches <see cref="Encoders.BertEncoder"/>
/// reads: [N, L, 3] int64 (ids, attention mask, token types), [CLS] A [SEP] (B [SEP]), truncated to a maximum length and
/// padded with [PAD].
/// </summary>
/// <remarks>
/// <para>The word pieces come from FastBertTokenizer (MIT, a maintained .NET implementation of BERT's basic and
/// WordPiece tokenization). It was chosen over Microsoft.ML.Tokenizers 3.0's BertTokenizer because it gives Hugging
/// Face's ids where that one does not: on all-MiniLM-L6-v2's vocabulary, Microsoft.ML.Tokenizers 3.0 misreads tabs and
/// newlines as letters and drops emoji and symbols such as (c) and (R) that Hugging Face keeps (or maps to [UNK]); the
/// tests compare this class with Hugging Face's own tokenizers library (Rust, through Tokenizers.DotNet) on real sentences.
/// FastBertTokenizer has no sentence pairs; this class builds them as Hugging Face does.</para>
/// <para>Pairs are truncated "longest first", as Hugging Face's default and group_DRO's MultiNLI preprocessing
/// (<c>_truncate_seq_pair</c>): one token at a time from the longer text, from the second when they are equally long.
/// Not thread-safe (it reuses one buffer): use one tokenizer per thread; a call from a second thread while one is in
/// progress throws an <see cref="InvalidOperationException"/> instead of returning another text's ids.</para>
/// </remarks>
public sealed class WordPieceTokenizer
{
    private readonly BertTokenizer _pieces;
    private readonly Dictionary<string, int> _vocabulary;
    private long[] _buffer = new long[256];
    private long[] _maskBuffer = new long[256];
    private readonly GroupRobust.Internal.ExclusiveUse _use = new("word-piece tokenizer");

    private WordPieceTokenizer(BertTokenizer pieces, Dictionary<string, int> vocabulary, bool lowercase)
    {
        _pieces = pieces;
        _vocabulary = vocabulary;
        Lowercase = lowercase;
        PadId = vocabulary["[PAD]"];
        UnknownId = vocabulary["[UNK]"];
        ClsId = vocabulary["[CLS]"];
        SepId = vocabulary["[SEP]"];
    }

    /// <summary>Whether texts are lower-cased and stripped of accents first (uncased models).</summary>
    public bool Lowercase { get; }

    /// <summary>Number of entries in the vocabulary.</summary>
    public int VocabSize => _vocabulary.Count;

    /// <summary>The [PAD] id.</summary>
    public int PadId { get; }

    /// <summary>The [UNK] id.</summary>
    public int UnknownId { get; }

    /// <summary>The [CLS] id.</summary>
    public int ClsId { get; }

    /// <summary>The [SEP] id.</summary>
    public int SepId { get; }

    /// <summary>Reads a WordPiece vocabulary file (vocab.txt: one token per line, the line number its id).</summary>
    /// <param name="path">The vocab.txt file.</param>
    /// <param name="lowercase">Lower-case and strip accents first (default true: uncased models such as bert-base-uncased and all-MiniLM-L6-v2).</param>
    /// <exception cref="FileNotFoundException">No such file.</exception>
    /// <exception cref="FormatException">A special token ([PAD], [UNK], [CLS], [SEP]) is missing, or a token appears twice (line numbers named).</exception>
    public static WordPieceTokenizer FromVocabulary(string path, bool lowercase = true)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        if (!File.Exists(path)) throw new FileNotFoundException($"{path}: no such vocabulary file.", path);
        using var stream = File.OpenRead(path);
        return FromVocabulary(stream, lowercase, path);
    }

    /// <summary>Reads a WordPiece vocabulary from a stream (for example an embedded resource); see <see cref="FromVocabulary(string, bool)"/>.</summary>
    /// <param name="stream">UTF-8 text, one token per line (read to the end, not disposed).</param>
    /// <param name="lowercase">Lower-case and strip accents first (default true).</param>
    /// <param name="source">The name used in messages.</param>
    /// <exception cref="FormatException">As <see cref="FromVocabulary(string, bool)"/>.</exception>
    public static WordPieceTokenizer FromVocabulary(Stream stream, bool lowercase = true, string source = "vocab.txt")
    {
        ArgumentNullException.ThrowIfNull(stream);
        ArgumentException.ThrowIfNullOrEmpty(source);
        string text;
        using (var reader = new StreamReader(stream, Encoding.UTF8, detectEncodingFromByteOrderMarks: true, leaveOpen: true)) text = reader.ReadToEnd();
        var lines = text.Split('\n').Select(l => l.TrimEnd('\r')).ToList();
        if (lines.Count > 0 && lines[^1].Length == 0) lines.RemoveAt(lines.Count - 1);   // the final newline
        var vocabulary = new Dictionary<string, int>(StringComparer.Ordinal);
        for (int i = 0; i < lines.Count; i++)
        {
            if (lines[i].Length == 0) throw new FormatException($"{source}, line {i + 1}: empty token; a vocabulary has one token per line.");
            if (!vocabulary.TryAdd(lines[i], i))
                throw new FormatException($"{source}, line {i + 1}: the token '{lines[i]}' is also on line {vocabulary[lines[i]] + 1}.");
        }
        var missing = new[] { "[PAD]", "[UNK]", "[CLS]", "[SEP]" }.Where(t => !vocabulary.ContainsKey(t)).ToList();
        if (missing.Count > 0)
            throw new FormatException($"{source}: the special token(s) {string.Join(", ", missing)} are missing; a BERT WordPiece vocabulary has [PAD], [UNK], [CLS] and [SEP] ({vocabulary.Count} tokens read).");
        var pieces = new BertTokenizer();
        using (var reader = new StringReader(text))
            pieces.LoadVocabulary(reader, lowercase, "[UNK]", "[CLS]", "[SEP]", "[PAD]", lowercase ? NormalizationForm.FormD : NormalizationForm.FormC);
        return new WordPieceTokenizer(pieces, vocabulary, lowercase);
    }

    /// <summary>The word-piece ids of <paramref name="text"/>, without [CLS] and [SEP].</summary>
    /// <param name="text">Any text (empty gives none).</param>
    public int[] Tokenize(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        // WordPiece maps a word longer than 100 characters to [UNK] (BERT's max_input_chars_per_word); FastBertTokenizer
        // does not, so such words are cut out here and the text around them is tokenized alone (words never span a cut)
        var ids = new List<int>();
        int start = 0;
        foreach (var (from, to) in LongWords(text))
        {
            Pieces(text.AsSpan(start, from - start), ids);
            ids.Add(UnknownId);
            start = to;
        }
        Pieces(text.AsSpan(start), ids);
        return ids.ToArray();
    }

    private const int MaxCharactersPerWord = 100;

    /// <summary>The [from, to) spans of words (runs between whitespace, punctuation and CJK characters, as BERT's basic tokenizer splits) longer than 100 characters.</summary>
    private static IEnumerable<(int From, int To)> LongWords(string text)
    {
        int i = 0;
        while (i < text.Length)
        {
            if (Separates(text, i))
            {
                i += char.IsSurrogatePair(text, i) ? 2 : 1;
                continue;
            }
            int from = i, characters = 0;
            while (i < text.Length && !Separates(text, i))
            {
                i += char.IsSurrogatePair(text, i) ? 2 : 1;
                characters++;
            }
            if (characters > MaxCharactersPerWord) yield return (from, i);
        }
    }

    private static bool Separates(string text, int i)
    {
        int c = char.IsSurrogatePair(text, i) ? char.ConvertToUtf32(text[i], text[i + 1]) : text[i];
        if (c is (>= 33 and <= 47) or (>= 58 and <= 64) or (>= 91 and <= 96) or (>= 123 and <= 126)) return true;   // ASCII punctuation and symbols
        if (Rune.IsValid(c) && (Rune.IsWhiteSpace(new Rune(c)) || Rune.IsPunctuation(new Rune(c)))) return true;
        return c is (>= 0x4E00 and <= 0x9FFF) or (>= 0x3400 and <= 0x4DBF) or (>= 0x20000 and <= 0x2A6DF) or (>= 0x2A700 and <= 0x2B73F)
            or (>= 0x2B740 and <= 0x2B81F) or (>= 0x2B820 and <= 0x2CEAF) or (>= 0xF900 and <= 0xFAFF) or (>= 0x2F800 and <= 0x2FA1F);   // CJK, split per character
    }

    private void Pieces(ReadOnlySpan<char> text, List<int> ids)
    {
        if (text.IsEmpty) return;
        using var use = _use.Enter();   // the buffers are shared by every call
        int capacity = text.Length + 2;   // a word piece covers at least one character
        if (_buffer.Length < capacity)
        {
            _buffer = new long[Math.Max(capacity, _buffer.Length * 2)];
            _maskBuffer = new long[_buffer.Length];
        }
        _pieces.Encode(text.ToString(), _buffer.AsSpan(0, capacity), _maskBuffer.AsSpan(0, capacity), capacity);
        // FastBertTokenizer writes [CLS] pieces [SEP] and pads the rest of the span (mask 0)
        int written = 0;
        while (written < capacity && _maskBuffer[written] != 0) written++;
        for (int i = 1; i < written - 1; i++) ids.Add((int)_buffer[i]);
    }

    /// <summary>One text (or pair) as BERT reads it: ids [CLS] A [SEP] (B [SEP]) and their token types, truncated to <paramref name="maxLength"/>.</summary>
    /// <param name="text">The text (sentence A).</param>
    /// <param name="pair">The second text (sentence B, e.g. MultiNLI's hypothesis), or null.</param>
    /// <param name="maxLength">Most tokens, special ones included: at least 3 (5 with a pair) (default 128, group_DRO's for MultiNLI).</param>
    /// <returns>The ids and the token types (0 for [CLS] A [SEP], 1 for B [SEP]).</returns>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="maxLength"/> leaves no room for a token of each text.</exception>
    public (int[] Ids, int[] TokenTypes) Encode(string text, string? pair = null, int maxLength = 128)
    {
        ArgumentNullException.ThrowIfNull(text);
        ArgumentOutOfRangeException.ThrowIfLessThan(maxLength, pair is null ? 3 : 5);
        var a = Tokenize(text);
        var b = pair is null ? [] : Tokenize(pair);
        int budget = maxLength - (pair is null ? 2 : 3);
        int na = a.Length, nb = b.Length;
        if (pair is null) na = Math.Min(na, budget);
        else
            while (na + nb > budget)
            {
                if (na > nb) na--;
                else nb--;
            }
        var ids = new List<int>(na + nb + 3) { ClsId };
        ids.AddRange(a.Take(na));
        ids.Add(SepId);
        int firstLength = ids.Count;
        if (pair is not null)
        {
            ids.AddRange(b.Take(nb));
            ids.Add(SepId);
        }
        var types = new int[ids.Count];
        for (int i = firstLength; i < types.Length; i++) types[i] = 1;
        return (ids.ToArray(), types);
    }

    /// <summary>
    /// A token batch [N, L, 3] int64 of ids, attention mask (1 on tokens, 0 on padding) and token types: the input of
    /// <see cref="Encoders.BertEncoder"/>, and of any dataset of texts. L is the longest encoded text (or
    /// <paramref name="maxLength"/> when <paramref name="padToMaxLength"/>).
    /// </summary>
    /// <param name="texts">The texts (sentence A), at least one.</param>
    /// <param name="pairs">The second texts, one per text, or null.</param>
    /// <param name="maxLength">Most tokens per row, special ones included (default 128).</param>
    /// <param name="padToMaxLength">Pad every row to <paramref name="maxLength"/> (default false: to the longest row).</param>
    /// <returns>The batch, on the CPU; the caller owns it.</returns>
    /// <exception cref="ArgumentException">No texts, a null text, or a number of pairs different from the number of texts.</exception>
    public Tensor Encode(IReadOnlyList<string> texts, IReadOnlyList<string>? pairs = null, int maxLength = 128, bool padToMaxLength = false)
    {
        ArgumentNullException.ThrowIfNull(texts);
        if (texts.Count == 0) throw new ArgumentException("At least one text is needed.", nameof(texts));
        if (pairs is not null && pairs.Count != texts.Count)
            throw new ArgumentException($"{pairs.Count} pairs for {texts.Count} texts; give one second text per text.", nameof(pairs));
        for (int i = 0; i < texts.Count; i++)
        {
            if (texts[i] is null) throw new ArgumentException($"Text {i} is null.", nameof(texts));
            if (pairs is not null && pairs[i] is null) throw new ArgumentException($"Pair {i} is null.", nameof(pairs));
        }
        ArgumentOutOfRangeException.ThrowIfLessThan(maxLength, pairs is null ? 3 : 5);
        var rows = new (int[] Ids, int[] Types)[texts.Count];
        for (int i = 0; i < rows.Length; i++) rows[i] = Encode(texts[i], pairs?[i], maxLength);
        int length = padToMaxLength ? maxLength : rows.Max(r => r.Ids.Length);
        var data = new long[rows.Length * length * 3];
        for (int i = 0; i < rows.Length; i++)
        {
            var (ids, types) = rows[i];
            for (int j = 0; j < length; j++)
            {
                long at = ((long)i * length + j) * 3;
                bool token = j < ids.Length;
                data[at] = token ? ids[j] : PadId;
                data[at + 1] = token ? 1 : 0;
                data[at + 2] = token ? types[j] : 0;
            }
        }
        return torch.tensor(data, [rows.Length, length, 3], ScalarType.Int64);
    }
}
