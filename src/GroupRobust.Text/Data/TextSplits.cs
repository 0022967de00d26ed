using GroupRobust.Data;
using GroupRobust.Groups;
using GroupRobust.Text.Tokenization;
using TorchSharp;
using static TorchSharp.torch;

namespace GroupRobust.Text.Data;

/// <summary>A text dataset before tokenization: train, validation and test texts with their labels and attributes, and the group scheme.</summary>
/// <param name="Scheme">Classes x attributes, with names.</param>
/// <param name="Train">The training texts.</param>
/// <param name="Validation">The validation texts.</param>
/// <param name="Test">The test texts.</param>
public sealed record TextSplits(GroupScheme Scheme, IReadOnlyList<LabeledText> Train, IReadOnlyList<LabeledText> Validation, IReadOnlyList<LabeledText> Test)
{
    /// <summary>
    /// Tokenizes the three splits into in-memory datasets of token batches [N, L, 3] (ids, mask, types; L the longest
    /// row of the split, at most <paramref name="maxLength"/>), the input of <see cref="Encoders.BertEncoder"/>.
    /// </summary>
    /// <param name="tokenizer">The model's tokenizer.</param>
    /// <param name="maxLength">Most tokens per text, special ones included (default 128).</param>
    /// <param name="device">Where the datasets live (default the CPU).</param>
    /// <returns>The splits; the caller disposes them.</returns>
    /// <exception cref="ArgumentException">A split is empty, or a label or attribute lies outside the scheme (split and row named).</exception>
    public DatasetSplits Tokenize(WordPieceTokenizer tokenizer, int maxLength = 128, Device? device = null)
    {
        ArgumentNullException.ThrowIfNull(tokenizer);
        ArgumentOutOfRangeException.ThrowIfLessThan(maxLength, 3);
        var parts = new List<TensorGroupDataset>();
        try
        {
            foreach (var (name, texts) in new[] { ("train", Train), ("validation", Validation), ("test", Test) })
                parts.Add(TokenizeSplit(name, texts, tokenizer, maxLength, device));
            return new DatasetSplits(parts[0], parts[1], parts[2]);
        }
        catch
        {
            foreach (var p in parts) p.Dispose();
            throw;
        }
    }

    private TensorGroupDataset TokenizeSplit(string split, IReadOnlyList<LabeledText> texts, WordPieceTokenizer tokenizer, int maxLength, Device? device)
    {
        ArgumentNullException.ThrowIfNull(texts, split);
        if (texts.Count == 0) throw new ArgumentException($"The {split} split has no texts.", split);
        bool pairs = texts[0].Pair is not null;
        for (int i = 0; i < texts.Count; i++)
        {
            var t = texts[i] ?? throw new ArgumentException($"{split} row {i} is null.", split);
            if (t.Label < 0 || t.Label >= Scheme.NumClasses)
                throw new ArgumentException($"{split} row {i} has label {t.Label}; the scheme has classes 0..{Scheme.NumClasses - 1}.", split);
            if (t.Attribute < 0 || t.Attribute >= Scheme.NumAttributes)
                throw new ArgumentException($"{split} row {i} has attribute {t.Attribute}; the scheme has attributes 0..{Scheme.NumAttributes - 1}.", split);
            if ((t.Pair is not null) != pairs)
                throw new ArgumentException($"{split} row {i} {(pairs ? "has no second text" : "has a second text")} but row 0 {(pairs ? "has one" : "has none")}; a split is all single texts or all pairs.", split);
        }
        using var scope = NewDisposeScope();
        var tokens = tokenizer.Encode(texts.Select(t => t.Text).ToList(), pairs ? texts.Select(t => t.Pair!).ToList() : null, maxLength);
        var labels = torch.tensor(texts.Select(t => (long)t.Label).ToArray());
        var attributes = torch.tensor(texts.Select(t => (long)t.Attribute).ToArray());
        if (device is not null && device.type != DeviceType.CPU)
        {
            tokens = tokens.to(device);
            labels = labels.to(device);
            attributes = attributes.to(device);
        }
        return new TensorGroupDataset(tokens, labels, Scheme, attributes);   // the dataset keeps its own handle of the tokens
    }

    /// <summary>Collections print as their items, not as "System.String[]" (the members of the compiler's <c>ToString</c>).</summary>
    private bool PrintMembers(System.Text.StringBuilder builder) => GroupRobust.Internal.RecordText.Print(this, builder);
}
