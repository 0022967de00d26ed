using System.Text.Json;

namespace GroupRobust.Tests.Text.Tokenization;

/// <summary>
/// The reference tokenizer: Hugging Face's tokenizers library (Rust; Tokenizers.DotNet binds it), configured as
/// transformers' BertTokenizerFast builds an uncased BERT tokenizer from a vocab.txt (BertNormalizer with lower-casing
/// and accent stripping, BertPreTokenizer, WordPiece with "##" and [UNK], [CLS] A [SEP] B [SEP] templates).
/// </summary>
internal sealed class HuggingFaceTokenizer : IDisposable
{
    private readonly Tokenizers.DotNet.Tokenizer _tokenizer;

    public HuggingFaceTokenizer(string vocabularyPath, string folder)
    {
        var vocab = File.ReadAllLines(vocabularyPath);
        var ids = new Dictionary<string, int>();
        for (int i = 0; i < vocab.Length; i++) ids[vocab[i]] = i;
        object Special(string t) => new Dictionary<string, object> { ["id"] = ids[t], ["content"] = t, ["single_word"] = false, ["lstrip"] = false, ["rstrip"] = false, ["normalized"] = false, ["special"] = true };
        object Piece(string kind, string id, int type) => new Dictionary<string, object> { [kind] = new Dictionary<string, object> { ["id"] = id, ["type_id"] = type } };
        object SpecialEntry(string t) => new Dictionary<string, object> { ["id"] = t, ["ids"] = new[] { ids[t] }, ["tokens"] = new[] { t } };
        var json = new Dictionary<string, object?>
        {
            ["version"] = "1.0",
            ["truncation"] = null,
            ["padding"] = null,
            ["added_tokens"] = new[] { "[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]" }.Select(Special).ToArray(),
            ["normalizer"] = new Dictionary<string, object?> { ["type"] = "BertNormalizer", ["clean_text"] = true, ["handle_chinese_chars"] = true, ["strip_accents"] = null, ["lowercase"] = true },
            ["pre_tokenizer"] = new Dictionary<string, object> { ["type"] = "BertPreTokenizer" },
            ["post_processor"] = new Dictionary<string, object>
            {
                ["type"] = "TemplateProcessing",
                ["single"] = new[] { Piece("SpecialToken", "[CLS]", 0), Piece("Sequence", "A", 0), Piece("SpecialToken", "[SEP]", 0) },
                ["pair"] = new[] { Piece("SpecialToken", "[CLS]", 0), Piece("Sequence", "A", 0), Piece("SpecialToken", "[SEP]", 0), Piece("Sequence", "B", 1), Piece("SpecialToken", "[SEP]", 1) },
                ["special_tokens"] = new Dictionary<string, object> { ["[CLS]"] = SpecialEntry("[CLS]"), ["[SEP]"] = SpecialEntry("[SEP]") },
            },
            ["decoder"] = new Dictionary<string, object> { ["type"] = "WordPiece", ["prefix"] = "##", ["cleanup"] = true },
            ["model"] = new Dictionary<string, object> { ["type"] = "WordPiece", ["unk_token"] = "[UNK]", ["continuing_subword_prefix"] = "##", ["max_input_chars_per_word"] = 100, ["vocab"] = ids },
        };
        string path = Path.Combine(folder, "tokenizer.json");
        File.WriteAllText(path, JsonSerializer.Serialize(json));
        _tokenizer = new Tokenizers.DotNet.Tokenizer(path);
    }

    /// <summary>[CLS] ids [SEP] of one text.</summary>
    public int[] Encode(string text) => _tokenizer.Encode(text).Select(i => (int)i).ToArray();

    public void Dispose() => _tokenizer.Dispose();
}
