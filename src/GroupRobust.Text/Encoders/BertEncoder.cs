using GroupRobust.Internal;
using GroupRobust.Pretrained;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace GroupRobust.Text.Encoders;

/// <summary>
/// A BERT-family text encoder (BERT, MiniLM, DistilBERT) in TorchSharp: token batches in, one pooled vector per text out
/// [B, H], so <c>new EncoderClassifier(encoder, nn.Linear(H, classes))</c> is a text classifier every GroupRobust method
/// trains, JM1 mixing its pooled representation at the "output" layer (the JM1 paper's MultiNLI setting) or its token
/// embeddings at <see cref="EmbeddingsLayer"/>. Parameter names are Hugging Face's (<c>embeddings.word_embeddings.weight</c>,
/// <c>encoder.layer.0.attention.self.query.weight</c>, DistilBERT's <c>transformer.layer.0.attention.q_lin.weight</c>), so
/// checkpoints load key for key (<see cref="LoadWeights(string, string?)"/>).
/// </summary>
/// <remarks>
/// <para><b>Input</b>: token ids [B, L] (attended where the id is not <see cref="BertConfig.PadTokenId"/>, token type 0),
/// or [B, L, 3] holding ids, attention mask (0/1) and token types per position, the layout of
/// <see cref="Tokenization.WordPieceTokenizer.Encode(IReadOnlyList{string}, IReadOnlyList{string}?, int, bool)"/> and of group_DRO's MultiNLI features. Integer dtype, L at most
/// <see cref="BertConfig.MaxPositions"/>; ids, mask and types are range-checked on the CPU (on accelerators the
/// embedding kernels assert, so no step waits for the device).</para>
/// <para><b>Between stages</b> the token states are [B, L, H + 1]: the representations, zero at padded positions, and the
/// attention mask as the last channel. A hook that mixes a stage's output (<c>MixedForwardPass</c> at "embeddings" or
/// "encoder.layer.N") therefore mixes the masks too: the mixed text attends to every position where either text has a
/// token, and a padded position contributes nothing. <see cref="LastHiddenState"/> gives Hugging Face's
/// <c>last_hidden_state</c> [B, L, H] (zero at padded positions, where Hugging Face's values are not used by anything).</para>
/// <para>Dropout follows the module's training flag (attention probabilities and hidden states, as Hugging Face).</para>
/// </remarks>
public sealed class BertEncoder : nn.Module<Tensor, Tensor>
{
    /// <summary>The token-embedding layer's module name (mixing there mixes the embedded tokens and their masks).</summary>
    public const string EmbeddingsLayer = "embeddings";

    private readonly BertEmbeddings embeddings;
    private readonly ModuleList<BertLayer> layers;
    private readonly ModuleGroup stack;
    private readonly Linear? poolerDense;
    private readonly ModuleGroup? pooler;

    /// <summary>Creates a randomly initialised encoder (load weights with <see cref="LoadWeights(string, string?)"/>).</summary>
    /// <param name="config">The shape (<see cref="BertConfig.Load"/> reads a Hugging Face config.json).</param>
    /// <param name="pooling">How texts are pooled: <see cref="TextPooling.Pooler"/> for a BERT fine-tuned as BertForSequenceClassification, <see cref="TextPooling.Mean"/> for sentence-transformers models such as all-MiniLM-L6-v2, <see cref="TextPooling.Cls"/> for DistilBERT.</param>
    /// <exception cref="ArgumentException">A configuration value out of range, or the pooler asked of DistilBERT.</exception>
    public BertEncoder(BertConfig config, TextPooling pooling) : base(nameof(BertEncoder))
    {
        ArgumentNullException.ThrowIfNull(config);
        config.Validate(nameof(config));
        if (!Enum.IsDefined(pooling)) throw new ArgumentOutOfRangeException(nameof(pooling), pooling, "Expected Cls, Mean or Pooler.");
        if (pooling == TextPooling.Pooler && config.Architecture != BertArchitecture.Bert)
            throw new ArgumentException("DistilBERT has no pooler; pool with TextPooling.Cls (as DistilBertForSequenceClassification) or Mean.", nameof(pooling));
        Config = config;
        Pooling = pooling;
        embeddings = new BertEmbeddings(config);
        layers = nn.ModuleList(Enumerable.Range(0, config.NumLayers).Select(i => new BertLayer(config, i)).ToArray());
        stack = new ModuleGroup("encoder", ("layer", layers));
        register_module(EmbeddingsLayer, embeddings);
        register_module(config.Architecture == BertArchitecture.Bert ? "encoder" : "transformer", stack);
        if (pooling == TextPooling.Pooler)
        {
            poolerDense = nn.Linear(config.HiddenSize, config.HiddenSize);
            pooler = new ModuleGroup("pooler", ("dense", poolerDense));
            register_module("pooler", pooler);
        }
    }

    /// <summary>The configuration.</summary>
    public BertConfig Config { get; }

    /// <summary>How texts are pooled.</summary>
    public TextPooling Pooling { get; }

    /// <summary>Width of the pooled representation (the head's input), H.</summary>
    public int OutputSize => Config.HiddenSize;

    /// <summary>
    /// Module names of the stages JM1 can mix at inside this encoder, in order: <see cref="EmbeddingsLayer"/>, then each
    /// transformer layer ("encoder.layer.0" ..., "transformer.layer.0" ... for DistilBERT). Inside an
    /// <c>EncoderClassifier</c> prefix them with "encoder.".
    /// </summary>
    public IReadOnlyList<string> StageNames =>
        [EmbeddingsLayer, .. Enumerable.Range(0, Config.NumLayers).Select(i => $"{(Config.Architecture == BertArchitecture.Bert ? "encoder" : "transformer")}.layer.{i}")];

    /// <summary>The pooled representation [B, H] of a token batch (see the class remarks for the input).</summary>
    /// <param name="input">Token ids [B, L], or ids, mask and types [B, L, 3].</param>
    /// <exception cref="ArgumentException">Not an integer tensor of that shape, longer than the position embeddings, or (CPU) ids, mask or types out of range.</exception>
    public override Tensor forward(Tensor input)
    {
        using var scope = NewDisposeScope();
        var states = States(input);
        var (h, keep) = TokenStates.Unpack(states);
        using var one = 1.ToScalar();
        Tensor pooled = Pooling switch
        {
            TextPooling.Mean => h.sum(1) / keep.sum(1, keepdim: true).clamp_min(one).to(h.dtype),
            TextPooling.Cls => h.select(1, 0),
            _ => poolerDense!.call(h.select(1, 0)).tanh(),
        };
        return pooled.MoveToOuterDisposeScope();
    }

    /// <summary>
    /// Hugging Face's <c>last_hidden_state</c> [B, L, H]: every position's final representation (zero at padded
    /// positions). The encoder's own dropout applies when it is in training mode.
    /// </summary>
    /// <param name="input">As <see cref="forward"/>.</param>
    public Tensor LastHiddenState(Tensor input)
    {
        using var scope = NewDisposeScope();
        var (h, _) = TokenStates.Unpack(States(input));
        return h.contiguous().MoveToOuterDisposeScope();
    }

    /// <summary>
    /// Loads pretrained weights: a Hugging Face checkpoint (model.safetensors or pytorch_model.bin), a PyTorch state dict,
    /// or an ONNX export (<see cref="OnnxWeights"/>). Keys are matched by name; a classifier checkpoint's encoder is found
    /// under its prefix (<c>bert.</c>, <c>distilbert.</c>, or the one given). Every encoder tensor must be in the file
    /// with its shape; the file's other tensors (heads, an unused pooler, <c>embeddings.position_ids</c>) are ignored and
    /// reported. The encoder is unchanged when the file does not fit.
    /// </summary>
    /// <param name="path">The weights file.</param>
    /// <param name="filePrefix">The prefix of the encoder's keys in the file; null finds it ("", "bert.", "distilbert.").</param>
    /// <returns>What was loaded and what was ignored.</returns>
    /// <exception cref="FileNotFoundException">No such file.</exception>
    /// <exception cref="FormatException">The file does not fit the encoder (every missing or mis-shaped key listed).</exception>
    public PretrainedLoadReport LoadWeights(string path, string? filePrefix = null)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        var tensors = PretrainedWeights.Read(path);
        try
        {
            return LoadWeights(tensors, path, filePrefix);
        }
        finally
        {
            foreach (var t in tensors.Values) t.Dispose();
        }
    }

    /// <summary>
    /// Loads pretrained weights already in memory (a state dict read once, e.g. with <see cref="OnnxWeights.Read(Stream, string)"/>
    /// from a packaged model, for many encoders); as <see cref="LoadWeights(string, string?)"/>. The tensors are copied and stay the caller's.
    /// </summary>
    /// <param name="tensors">Names to tensors.</param>
    /// <param name="source">What they are, for messages and the report.</param>
    /// <param name="filePrefix">The prefix of the encoder's keys; null finds it ("", "bert.", "distilbert.", "model.").</param>
    /// <returns>What was loaded and what was ignored.</returns>
    /// <exception cref="FormatException">The tensors do not fit the encoder (every missing or mis-shaped key listed); the encoder is unchanged.</exception>
    public PretrainedLoadReport LoadWeights(IReadOnlyDictionary<string, Tensor> tensors, string source, string? filePrefix = null)
    {
        ArgumentNullException.ThrowIfNull(tensors);
        ArgumentException.ThrowIfNullOrEmpty(source);
        const string probe = "embeddings.word_embeddings.weight";
        filePrefix ??= new[] { "", "bert.", "distilbert.", "model." }.FirstOrDefault(p => tensors.ContainsKey(p + probe))
            ?? throw new FormatException($"{source}: no '{probe}' under any known prefix (none, 'bert.', 'distilbert.', 'model.'); is it a {Config.Architecture} checkpoint? Pass filePrefix if its keys sit elsewhere.");
        return PretrainedWeights.Load(this, tensors, source, new PretrainedLoadOptions { FilePrefix = filePrefix, AllowUnusedFileKeys = true });
    }

    /// <summary>The packed token states after the last layer (checked input; see <see cref="TokenStates"/>).</summary>
    private Tensor States(Tensor input)
    {
        var tokens = Tokens(input);
        var states = embeddings.call(tokens);
        foreach (var layer in layers) states = layer.call(states);
        return states;
    }

    /// <summary>The door: the input as [B, L, 3] int64 (ids, mask, types), checked.</summary>
    private Tensor Tokens(Tensor input)
    {
        Guard.NotNull(input, nameof(input));
        if (!Guard.IsIntegral(input.dtype))
            throw new ArgumentException($"'input' has dtype {input.dtype}; a text encoder reads integer token ids [B, L] or ids, mask and types [B, L, 3].", nameof(input));
        if (!(input.dim() == 2 || (input.dim() == 3 && input.shape[2] == 3)))
            throw new ArgumentException($"'input' has shape {Guard.Shape(input)}; expected token ids [B, L] or ids, mask and types [B, L, 3].", nameof(input));
        if (input.shape[0] == 0 || input.shape[1] == 0)
            throw new ArgumentException($"'input' has shape {Guard.Shape(input)}; expected at least one text of at least one token.", nameof(input));
        if (input.shape[1] > Config.MaxPositions)
            throw new ArgumentException($"'input' has {input.shape[1]} tokens per text; this encoder's position embeddings cover {Config.MaxPositions}. Truncate when tokenizing (max length).", nameof(input));
        var ids = input.dim() == 2 ? input : input.select(-1, 0);
        Guard.IndexRange(ids, Config.VocabSize, nameof(input), "token id");
        if (input.dim() == 2)
        {
            var s = input.to(ScalarType.Int64);
            using var pad = Config.PadTokenId.ToScalar();
            return torch.stack([s, s.ne(pad).to(ScalarType.Int64), torch.zeros_like(s)], -1);
        }
        Guard.IndexRange(input.select(-1, 1), 2, nameof(input), "attention-mask value (channel 1)");
        Guard.IndexRange(input.select(-1, 2), Math.Max(Config.TypeVocabSize, 1), nameof(input), "token type (channel 2)");
        return input.dtype == ScalarType.Int64 ? input : input.to(ScalarType.Int64);
    }

    /// <summary>Children are registered by name in the constructor (Hugging Face's names); fields are not registered again.</summary>
    protected override void RegisterComponents()
    {
    }

    /// <inheritdoc />
    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            embeddings.Dispose();
            foreach (var layer in layers) layer.Dispose();
            layers.Dispose();
            stack.Dispose();
            poolerDense?.Dispose();
            pooler?.Dispose();
        }
        base.Dispose(disposing);
    }
}
