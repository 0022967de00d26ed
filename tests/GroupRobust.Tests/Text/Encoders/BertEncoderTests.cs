using GroupRobust.Pretrained;
using GroupRobust.Tests.TestSupport;
using GroupRobust.Text.Encoders;
using TorchSharp;
using TorchSharp.PyBridge;
using static TorchSharp.torch;

namespace GroupRobust.Tests.Text.Encoders;

/// <summary>Tiny random encoders (seeded through torch's global generator, so in the non-parallel collection).</summary>
[Collection(LeakCollection.Name)]
public class BertEncoderTests
{
    internal static readonly BertConfig Tiny = new() { VocabSize = 40, HiddenSize = 16, NumLayers = 2, NumHeads = 2, IntermediateSize = 32, MaxPositions = 24 };

    internal static BertEncoder NewTiny(TextPooling pooling = TextPooling.Cls, BertConfig? config = null, int seed = 0)
    {
        torch.random.manual_seed(seed);
        return new BertEncoder(config ?? Tiny, pooling);
    }

    /// <summary>Token batches [N, L, 3]: row i has lengths[i] tokens ([CLS]=2 ... [SEP]=3 around ids 5..), padded with 0.</summary>
    internal static Tensor Tokens(int[] lengths, int length, int seed = 0, int types = 1)
    {
        var rng = new Random(seed);
        var data = new long[lengths.Length * length * 3];
        for (int i = 0; i < lengths.Length; i++)
            for (int j = 0; j < length; j++)
            {
                long at = ((long)i * length + j) * 3;
                bool token = j < lengths[i];
                data[at] = !token ? 0 : j == 0 ? 2 : j == lengths[i] - 1 ? 3 : rng.Next(5, 40);
                data[at + 1] = token ? 1 : 0;
                data[at + 2] = token && types > 1 && j > lengths[i] / 2 ? 1 : 0;
            }
        return torch.tensor(data, [lengths.Length, length, 3], ScalarType.Int64);
    }

    [Fact]
    public void Parameter_names_are_hugging_faces_for_bert_and_distilbert()
    {
        using var bert = NewTiny(TextPooling.Pooler);
        var keys = bert.state_dict().Keys.ToHashSet();
        string[] layer0 =
        [
            "attention.self.query.weight", "attention.self.query.bias", "attention.self.key.weight", "attention.self.key.bias",
            "attention.self.value.weight", "attention.self.value.bias", "attention.output.dense.weight", "attention.output.dense.bias",
            "attention.output.LayerNorm.weight", "attention.output.LayerNorm.bias", "intermediate.dense.weight", "intermediate.dense.bias",
            "output.dense.weight", "output.dense.bias", "output.LayerNorm.weight", "output.LayerNorm.bias",
        ];
        string[] expected =
        [
            "embeddings.word_embeddings.weight", "embeddings.position_embeddings.weight", "embeddings.token_type_embeddings.weight",
            "embeddings.LayerNorm.weight", "embeddings.LayerNorm.bias", .. layer0.Select(k => "encoder.layer.0." + k),
            .. layer0.Select(k => "encoder.layer.1." + k), "pooler.dense.weight", "pooler.dense.bias",
        ];
        Assert.Equal(expected.OrderBy(k => k, StringComparer.Ordinal), keys.OrderBy(k => k, StringComparer.Ordinal));

        using var distil = NewTiny(TextPooling.Cls, Tiny with { Architecture = BertArchitecture.DistilBert, TypeVocabSize = 0 });
        string[] distilLayer =
        [
            "attention.q_lin.weight", "attention.q_lin.bias", "attention.k_lin.weight", "attention.k_lin.bias", "attention.v_lin.weight",
            "attention.v_lin.bias", "attention.out_lin.weight", "attention.out_lin.bias", "sa_layer_norm.weight", "sa_layer_norm.bias",
            "ffn.lin1.weight", "ffn.lin1.bias", "ffn.lin2.weight", "ffn.lin2.bias", "output_layer_norm.weight", "output_layer_norm.bias",
        ];
        string[] distilExpected =
        [
            "embeddings.word_embeddings.weight", "embeddings.position_embeddings.weight", "embeddings.LayerNorm.weight", "embeddings.LayerNorm.bias",
            .. distilLayer.Select(k => "transformer.layer.0." + k), .. distilLayer.Select(k => "transformer.layer.1." + k),
        ];
        Assert.Equal(distilExpected.OrderBy(k => k, StringComparer.Ordinal), distil.state_dict().Keys.OrderBy(k => k, StringComparer.Ordinal));
        Assert.Equal(["embeddings", "transformer.layer.0", "transformer.layer.1"], distil.StageNames);
    }

    [Fact]
    public void Distilbert_computes_what_bert_does_with_the_same_weights_and_no_token_types()
    {
        using var bert = NewTiny(TextPooling.Mean, Tiny with { TypeVocabSize = 1 }, seed: 1);
        using var distil = NewTiny(TextPooling.Mean, Tiny with { Architecture = BertArchitecture.DistilBert, TypeVocabSize = 0 }, seed: 2);
        var names = new Dictionary<string, string>
        {
            ["attention.q_lin"] = "attention.self.query", ["attention.k_lin"] = "attention.self.key", ["attention.v_lin"] = "attention.self.value",
            ["attention.out_lin"] = "attention.output.dense", ["sa_layer_norm"] = "attention.output.LayerNorm", ["ffn.lin1"] = "intermediate.dense",
            ["ffn.lin2"] = "output.dense", ["output_layer_norm"] = "output.LayerNorm",
        };
        var source = bert.state_dict();
        using (torch.no_grad())
        {
            source["embeddings.token_type_embeddings.weight"].zero_();   // BERT adds type 0's embedding; DistilBERT adds none
            foreach (var (key, t) in distil.state_dict())
            {
                string k = key.Replace("transformer.", "encoder.");
                foreach (var (d, b) in names) k = k.Replace(d, b);
                t.copy_(source[k]);
            }
        }
        bert.eval();
        distil.eval();
        using var tokens = Tokens([7, 4, 10], 10);
        using var noGrad = torch.no_grad();
        using var a = bert.call(tokens);
        using var b2 = distil.call(tokens);
        Assert.True((a - b2).abs().max().ToDouble() < 1e-6);
    }

    [Fact]
    public void A_random_bert_round_trips_through_safetensors_and_pytorch_files_and_a_classifiers_prefix()
    {
        using var dir = new TempDirectory();
        using var source = NewTiny(TextPooling.Pooler, seed: 3);
        source.eval();
        using var tokens = Tokens([6, 9, 3], 9, types: 2);
        using var noGrad = torch.no_grad();
        using var expected = source.call(tokens);
        source.save_py(dir.File("model.bin"));
        source.save_safetensors(dir.File("model.safetensors"));
        // a BertForSequenceClassification checkpoint: the encoder under "bert.", a classifier beside it
        var classifierFile = source.state_dict().ToDictionary(kv => "bert." + kv.Key, kv => kv.Value);
        using var head = torch.zeros(2, 16);
        classifierFile["classifier.weight"] = head;
        Safetensors.SaveStateDict(dir.File("classifier.safetensors"), classifierFile);

        foreach (var file in new[] { "model.bin", "model.safetensors", "classifier.safetensors" })
        {
            using var target = NewTiny(TextPooling.Pooler, seed: 4);
            target.eval();
            var report = target.LoadWeights(dir.File(file));
            Assert.Equal(target.state_dict().Count, report.Loaded.Count);
            using var actual = target.call(tokens);
            Assert.Equal(0.0, (actual - expected).abs().max().ToDouble());
            if (file.StartsWith("classifier", StringComparison.Ordinal)) Assert.Equal(["classifier.weight"], report.Ignored);
        }

        // a pooler-free encoder ignores the file's pooler; a file that lacks a tensor is refused and nothing changes
        using (var cls = NewTiny(TextPooling.Cls, seed: 5))
            Assert.Contains("pooler.dense.weight", cls.LoadWeights(dir.File("model.safetensors")).Ignored);
        var partial = source.state_dict().Where(kv => kv.Key != "encoder.layer.1.output.dense.bias").ToDictionary(kv => kv.Key, kv => kv.Value);
        Safetensors.SaveStateDict(dir.File("partial.safetensors"), partial);
        using var untouched = NewTiny(TextPooling.Pooler, seed: 6);
        using var before = untouched.state_dict()["embeddings.word_embeddings.weight"].clone();
        var ex = Assert.Throws<FormatException>(() => untouched.LoadWeights(dir.File("partial.safetensors")));
        Assert.Contains("encoder.layer.1.output.dense.bias", ex.Message);
        Assert.True(before.allclose(untouched.state_dict()["embeddings.word_embeddings.weight"], rtol: 0, atol: 0));
        // a file of another model is named as such
        using (var other = nn.Linear(2, 2)) other.save_safetensors(dir.File("linear.safetensors"));
        Assert.Contains("known prefix", Assert.Throws<FormatException>(() => untouched.LoadWeights(dir.File("linear.safetensors"))).Message);
    }

    [Fact]
    public void Tensors_in_memory_load_into_many_encoders_and_stay_the_callers()
    {
        using var source = NewTiny(TextPooling.Mean, seed: 8);
        var tensors = source.state_dict().ToDictionary(kv => kv.Key, kv => kv.Value.clone());
        try
        {
            using var tokens = Tokens([5, 3], 5);
            using var noGrad = torch.no_grad();
            source.eval();
            using var expected = source.call(tokens);
            for (int i = 0; i < 2; i++)
            {
                using var target = NewTiny(TextPooling.Mean, seed: 9 + i);
                target.eval();
                Assert.Equal(target.state_dict().Count, target.LoadWeights(tensors, "in memory").Loaded.Count);
                using var actual = target.call(tokens);
                Assert.Equal(0.0, (actual - expected).abs().max().ToDouble());
            }
            Assert.All(tensors.Values, t => Assert.True(t.numel() > 0));   // still alive: the caller's
        }
        finally
        {
            foreach (var t in tensors.Values) t.Dispose();
        }
    }

    [Fact]
    public void Hugging_face_config_files_are_read_and_bad_ones_named()
    {
        var bert = BertConfig.Parse("""{"model_type": "bert", "vocab_size": 30522, "hidden_size": 384, "num_hidden_layers": 6, "num_attention_heads": 12, "intermediate_size": 1536, "hidden_act": "gelu", "max_position_embeddings": 512, "type_vocab_size": 2, "layer_norm_eps": 1e-12, "hidden_dropout_prob": 0.1, "attention_probs_dropout_prob": 0.1, "pad_token_id": 0, "architectures": ["BertModel"]}""");
        Assert.Equal(BertConfig.AllMiniLmL6V2, bert);
        var distil = BertConfig.Parse("""{"model_type": "distilbert", "vocab_size": 30522, "dim": 768, "n_layers": 6, "n_heads": 12, "hidden_dim": 3072, "activation": "gelu", "dropout": 0.1, "attention_dropout": 0.1, "max_position_embeddings": 512, "sinusoidal_pos_embds": false}""");
        Assert.Equal(BertConfig.DistilBertBase, distil);

        using var dir = new TempDirectory();
        string path = dir.File("config.json");
        void Refused(string json, string expected)
        {
            File.WriteAllText(path, json);
            var ex = Assert.Throws<FormatException>(() => BertConfig.Load(path));
            Assert.Contains(path, ex.Message);
            Assert.Contains(expected, ex.Message);
        }
        Refused("""{"model_type": "roberta"}""", "\"roberta\"");
        Refused("""{"model_type": "bert", "vocab_size": 10}""", "\"hidden_size\" is missing");
        Refused("""{"model_type": "bert", "vocab_size": "many", "hidden_size": 8}""", "\"vocab_size\" is \"many\"");
        Refused("""{"model_type": "bert", "vocab_size": 10, "hidden_size": 10, "num_hidden_layers": 1, "num_attention_heads": 3, "intermediate_size": 4}""", "not a multiple of NumHeads 3");
        Refused("""{"model_type": "bert", "vocab_size": 10, "hidden_size": 12, "num_hidden_layers": 1, "num_attention_heads": 3, "intermediate_size": 4, "hidden_act": "swish"}""", "\"swish\"");
        Refused("{\n\"model_type\": \"bert\",,\n}", "line 2");
        Refused("""{"model_type": "distilbert", "vocab_size": 10, "dim": 12, "n_layers": 1, "n_heads": 3, "hidden_dim": 4, "sinusoidal_pos_embds": true}""", "sinusoidal");
        Assert.Throws<FileNotFoundException>(() => BertConfig.Load(dir.File("absent.json")));
        Assert.Equal("config", Assert.Throws<ArgumentException>(() => new BertEncoder(Tiny with { HiddenDropout = 1 }, TextPooling.Cls)).ParamName);
        Assert.Equal("pooling", Assert.Throws<ArgumentException>(() => new BertEncoder(BertConfig.DistilBertBase with { NumLayers = 1, HiddenSize = 12, NumHeads = 3 }, TextPooling.Pooler)).ParamName);
    }

    [Fact]
    public void Inputs_are_checked_at_the_door_with_the_value_and_what_was_expected()
    {
        using var encoder = NewTiny();
        using var floats = torch.zeros(2, 5, 3);
        Assert.Contains("Float32", Assert.Throws<ArgumentException>(() => encoder.call(floats)).Message);
        using var two = torch.zeros([2, 5, 2], ScalarType.Int64);
        Assert.Contains("[2, 5, 2]", Assert.Throws<ArgumentException>(() => encoder.call(two)).Message);
        using var longer = torch.zeros([2, 25], ScalarType.Int64);
        Assert.Contains("cover 24", Assert.Throws<ArgumentException>(() => encoder.call(longer)).Message);
        using var empty = torch.zeros([0, 5], ScalarType.Int64);
        Assert.Throws<ArgumentException>(() => encoder.call(empty));
        using var tokens = Tokens([4, 5], 5);
        using var badId = tokens.clone();
        badId[0, 1, 0] = torch.tensor(40L);
        Assert.Contains("token id 40", Assert.Throws<ArgumentOutOfRangeException>(() => encoder.call(badId)).Message);
        using var badMask = tokens.clone();
        badMask[1, 2, 1] = torch.tensor(2L);
        Assert.Contains("attention-mask value", Assert.Throws<ArgumentOutOfRangeException>(() => encoder.call(badMask)).Message);
        using var badType = tokens.clone();
        badType[1, 2, 2] = torch.tensor(2L);
        Assert.Contains("token type", Assert.Throws<ArgumentOutOfRangeException>(() => encoder.call(badType)).Message);
    }

    [Fact]
    public void Bare_ids_padding_and_what_sits_at_padded_positions_do_not_change_a_texts_representation()
    {
        using var encoder = NewTiny(TextPooling.Mean);
        encoder.eval();
        using var noGrad = torch.no_grad();
        using var tokens = Tokens([6, 3], 6);
        using var ids = tokens.select(-1, 0).clone();   // bare ids: attended where not [PAD] (0), type 0
        using var fromIds = encoder.call(ids);
        using var fromTokens = encoder.call(tokens);
        Assert.True((fromIds - fromTokens).abs().max().ToDouble() < 1e-6);
        // longer padding, and other ids at the padded positions (mask 0): the same representation
        using var longer = Tokens([6, 3], 12);
        using var noisy = longer.clone();
        noisy.select(-1, 0)[1, 8] = torch.tensor(17L);
        noisy.select(-1, 0)[0, 10] = torch.tensor(33L);
        using var a = encoder.call(longer);
        using var b = encoder.call(noisy);
        Assert.True((a - fromTokens).abs().max().ToDouble() < 1e-5);
        Assert.True((a - b).abs().max().ToDouble() < 1e-6);
        // dropout follows the training flag
        encoder.train();
        using var d1 = encoder.call(tokens);
        using var d2 = encoder.call(tokens);
        Assert.False(d1.allclose(d2));
    }

    [Fact]
    public void Training_steps_leave_no_tensor_behind()
    {
        using var encoder = NewTiny(TextPooling.Pooler);
        using var tokens = Tokens([6, 3, 5], 6);
        LeakCheck.AssertFlat(() =>
        {
            using var scope = NewDisposeScope();
            encoder.call(tokens).sum().backward();
            using var hidden = encoder.LastHiddenState(tokens);
        }, steps: 50);
    }
}
