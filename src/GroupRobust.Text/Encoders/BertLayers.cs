using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace GroupRobust.Text.Encoders;

/// <summary>A module that only names its children (Hugging Face's nesting, e.g. <c>attention.self.query</c>); it has no forward of its own.</summary>
internal sealed class ModuleGroup : nn.Module
{
    public ModuleGroup(string name, params (string Name, nn.Module Module)[] children) : base(name)
    {
        foreach (var (n, m) in children) register_module(n, m);
    }

    protected override void RegisterComponents()
    {
    }
}

/// <summary>
/// Token states as they travel between the encoder's stages: [B, L, H + 1], the representation of every position
/// (zero where the position is padding) followed by the attention mask as one more channel. Mixing any stage's output
/// interpolates the mask with the representation: c m_a + (1 - c) m_b is positive wherever either text has a token, so the
/// next stage attends to the union of the two texts' tokens, and a padded position contributes nothing (its
/// representation is zero).
/// </summary>
internal static class TokenStates
{
    /// <summary>Packs a representation [B, L, H] and a 0/1 mask [B, L] (zeroing the padded positions).</summary>
    public static Tensor Pack(Tensor h, Tensor keep)
    {
        var m = keep.unsqueeze(-1).to(h.dtype);
        return torch.cat([h * m, m], -1);
    }

    /// <summary>The representation [B, L, H] and the attended positions [B, L] (bool: mask &gt; 0) of packed states.</summary>
    public static (Tensor H, Tensor Keep) Unpack(Tensor states)
    {
        long h = states.shape[^1] - 1;
        using var zero = 0.ToScalar();   // explicit and disposed: TorchSharp's implicit Scalars are freed by the finalizer (dotnet/TorchSharp#1434)
        return (states.narrow(-1, 0, h), states.narrow(-1, h, 1).squeeze(-1).gt(zero));
    }
}

/// <summary>Word, position and token-type embeddings, LayerNorm and dropout; [B, L, 3] token ids, mask and types to packed states (<see cref="TokenStates"/>).</summary>
internal sealed class BertEmbeddings : nn.Module<Tensor, Tensor>
{
    private readonly Embedding word;
    private readonly Embedding position;
    private readonly Embedding? tokenType;
    private readonly LayerNorm norm;
    private readonly double dropout;

    public BertEmbeddings(BertConfig config) : base("embeddings")
    {
        word = nn.Embedding(config.VocabSize, config.HiddenSize, padding_idx: config.PadTokenId);
        position = nn.Embedding(config.MaxPositions, config.HiddenSize);
        tokenType = config.TypeVocabSize > 0 ? nn.Embedding(config.TypeVocabSize, config.HiddenSize) : null;
        norm = nn.LayerNorm(config.HiddenSize, config.LayerNormEps);
        dropout = config.HiddenDropout;
        register_module("word_embeddings", word);
        register_module("position_embeddings", position);
        if (tokenType is not null) register_module("token_type_embeddings", tokenType);
        register_module("LayerNorm", norm);
    }

    public override Tensor forward(Tensor tokens)
    {
        using var scope = NewDisposeScope();
        var ids = tokens.select(-1, 0);
        long length = ids.shape[1];
        var positions = torch.arange(length, ScalarType.Int64, ids.device).unsqueeze(0);
        var e = word.call(ids) + position.call(positions);
        if (tokenType is not null) e = e + tokenType.call(tokens.select(-1, 2));
        e = nn.functional.dropout(norm.call(e), dropout, training);
        using var zero = 0.ToScalar();
        return TokenStates.Pack(e, tokens.select(-1, 1).gt(zero)).MoveToOuterDisposeScope();
    }

    /// <summary>Children are registered by name in the constructor (Hugging Face's names); fields are not registered again.</summary>
    protected override void RegisterComponents()
    {
    }

    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            word.Dispose();
            position.Dispose();
            tokenType?.Dispose();
            norm.Dispose();
        }
        base.Dispose(disposing);
    }
}

/// <summary>
/// One post-LayerNorm transformer layer (BERT's and DistilBERT's arithmetic; their key names differ): self-attention
/// over the attended positions, add and norm, feed-forward, add and norm; packed states in and out.
/// </summary>
internal sealed class BertLayer : nn.Module<Tensor, Tensor>
{
    private readonly Linear query, key, value, attentionOut, intermediate, output;
    private readonly LayerNorm attentionNorm, outputNorm;
    private readonly ModuleGroup[] groups;
    private readonly int heads;
    private readonly double hiddenDropout, attentionDropout;
    private readonly string activation;

    public BertLayer(BertConfig config, int index) : base($"layer.{index}")
    {
        int h = config.HiddenSize;
        query = nn.Linear(h, h);
        key = nn.Linear(h, h);
        value = nn.Linear(h, h);
        attentionOut = nn.Linear(h, h);
        intermediate = nn.Linear(h, config.IntermediateSize);
        output = nn.Linear(config.IntermediateSize, h);
        attentionNorm = nn.LayerNorm(h, config.LayerNormEps);
        outputNorm = nn.LayerNorm(h, config.LayerNormEps);
        heads = config.NumHeads;
        hiddenDropout = config.HiddenDropout;
        attentionDropout = config.AttentionDropout;
        activation = config.HiddenAct;
        if (config.Architecture == BertArchitecture.Bert)
        {
            // attention.self.{query,key,value}, attention.output.{dense,LayerNorm}, intermediate.dense, output.{dense,LayerNorm}
            var self = new ModuleGroup("self", ("query", query), ("key", key), ("value", value));
            var selfOutput = new ModuleGroup("output", ("dense", attentionOut), ("LayerNorm", attentionNorm));
            var attention = new ModuleGroup("attention", ("self", self), ("output", selfOutput));
            var inter = new ModuleGroup("intermediate", ("dense", intermediate));
            var outGroup = new ModuleGroup("output", ("dense", output), ("LayerNorm", outputNorm));
            register_module("attention", attention);
            register_module("intermediate", inter);
            register_module("output", outGroup);
            groups = [self, selfOutput, attention, inter, outGroup];
        }
        else
        {
            // attention.{q_lin,k_lin,v_lin,out_lin}, sa_layer_norm, ffn.{lin1,lin2}, output_layer_norm
            var attention = new ModuleGroup("attention", ("q_lin", query), ("k_lin", key), ("v_lin", value), ("out_lin", attentionOut));
            var ffn = new ModuleGroup("ffn", ("lin1", intermediate), ("lin2", output));
            register_module("attention", attention);
            register_module("sa_layer_norm", attentionNorm);
            register_module("ffn", ffn);
            register_module("output_layer_norm", outputNorm);
            groups = [attention, ffn];
        }
    }

    public override Tensor forward(Tensor states)
    {
        using var scope = NewDisposeScope();
        var (x, keep) = TokenStates.Unpack(states);
        long b = x.shape[0], l = x.shape[1], h = x.shape[2];
        Tensor Heads(Tensor t) => t.view(b, l, heads, h / heads).transpose(1, 2);
        // keys that are padding take no part; a query row always has [CLS] (or, after mixing, the union of two texts) to attend to
        var mask = keep.view(b, 1, 1, l);
        var context = nn.functional.scaled_dot_product_attention(Heads(query.call(x)), Heads(key.call(x)), Heads(value.call(x)), mask,
            training ? attentionDropout : 0.0);
        context = context.transpose(1, 2).reshape(b, l, h);
        var a = attentionNorm.call(nn.functional.dropout(attentionOut.call(context), hiddenDropout, training) + x);
        var f = output.call(Activate(intermediate.call(a)));
        var y = outputNorm.call(nn.functional.dropout(f, hiddenDropout, training) + a);
        return TokenStates.Pack(y, keep).MoveToOuterDisposeScope();
    }

    private Tensor Activate(Tensor t) => activation switch
    {
        "gelu" => nn.functional.gelu(t),
        "relu" => nn.functional.relu(t),
        _ => nn.functional.gelu(t, GELU.Approximate.tanh),
    };

    /// <summary>Children are registered by name in the constructor (Hugging Face's names); fields are not registered again.</summary>
    protected override void RegisterComponents()
    {
    }

    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            foreach (var m in new nn.Module[] { query, key, value, attentionOut, intermediate, output, attentionNorm, outputNorm }) m.Dispose();
            foreach (var g in groups) g.Dispose();
        }
        base.Dispose(disposing);
    }
}
