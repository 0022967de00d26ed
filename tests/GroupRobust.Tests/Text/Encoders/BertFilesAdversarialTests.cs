using GroupRobust.Tests.TestSupport;
using GroupRobust.Text.Encoders;
using TorchSharp;
using TorchSharp.PyBridge;
using static TorchSharp.torch;

namespace GroupRobust.Tests.Text.Encoders;

/// <summary>Hugging Face config.json and weight files edited by hand or damaged (tiny encoders seeded globally, so in the non-parallel collection).</summary>
[Collection(LeakCollection.Name)]
public class BertFilesAdversarialTests
{
    private const string Minimal = "\"model_type\": \"bert\", \"vocab_size\": 10, \"hidden_size\": 12, \"num_hidden_layers\": 1, \"num_attention_heads\": 3, \"intermediate_size\": 4";

    [Fact]
    public void Config_files_with_a_repeated_key_or_values_out_of_range_are_refused_naming_the_file_and_the_key()
    {
        using var dir = new TempDirectory();
        string path = dir.File("config.json");
        void Refused(string json, params string[] expected)
        {
            File.WriteAllText(path, json);
            var ex = Assert.Throws<FormatException>(() => BertConfig.Load(path));
            Assert.Contains(path, ex.Message);
            foreach (var e in expected) Assert.Contains(e, ex.Message);
        }
        // Python's json keeps the last of two equal keys: which width is meant cannot be known
        Refused("{" + Minimal + ", \"hidden_size\": 24}", "\"hidden_size\" appears twice");
        Refused("{" + Minimal + ", \"layer_norm_eps\": 1e400}", "\"layer_norm_eps\"", "finite");
        Refused("{" + Minimal.Replace("\"num_hidden_layers\": 1", "\"num_hidden_layers\": 3000000000") + "}", "\"num_hidden_layers\" is 3000000000; expected an integer");
        Refused("{" + Minimal.Replace("\"num_attention_heads\": 3", "\"num_attention_heads\": 0") + "}", "NumHeads is 0");
        Refused("{" + Minimal + ", \"hidden_dropout_prob\": -0.1}", "HiddenDropout is -0.1");
        Refused("{" + Minimal + ", \"pad_token_id\": 10}", "PadTokenId is 10; expected [0, 10)");
        // a byte order mark and CRLF line endings are fine
        File.WriteAllText(path, "\uFEFF{\r\n" + Minimal.Replace(", ", ",\r\n") + "\r\n}\r\n");
        Assert.Equal(12, BertConfig.Load(path).HiddenSize);
        Directory.CreateDirectory(dir.File("folder.json"));
        Assert.Throws<FileNotFoundException>(() => BertConfig.Load(dir.File("folder.json")));
    }

    [Fact]
    public void Weight_files_with_NaN_integer_tensors_or_no_bytes_are_refused_and_the_encoder_is_unchanged()
    {
        using var dir = new TempDirectory();
        using var source = BertEncoderTests.NewTiny(seed: 3);
        using var target = BertEncoderTests.NewTiny(seed: 4);
        using var before = target.state_dict()["embeddings.word_embeddings.weight"].clone();
        void Unchanged() => Assert.True(before.equal(target.state_dict()["embeddings.word_embeddings.weight"]).all().item<bool>());
        using (var scope = NewDisposeScope())
        {
            var nan = source.state_dict().ToDictionary(kv => kv.Key, kv => kv.Value);
            nan["encoder.layer.1.output.dense.bias"] = torch.full_like(nan["encoder.layer.1.output.dense.bias"], double.NaN);
            Safetensors.SaveStateDict(dir.File("nan.safetensors"), nan);
            var integer = source.state_dict().ToDictionary(kv => kv.Key, kv => kv.Value);
            integer["embeddings.word_embeddings.weight"] = integer["embeddings.word_embeddings.weight"].to(ScalarType.Int64);
            Safetensors.SaveStateDict(dir.File("int.safetensors"), integer);
        }
        var ex = Assert.Throws<FormatException>(() => target.LoadWeights(dir.File("nan.safetensors")));
        Assert.Contains("nan.safetensors", ex.Message);
        Assert.Contains("encoder.layer.1.output.dense.bias", ex.Message);
        Assert.Contains("NaN or infinite", ex.Message);
        Unchanged();
        var kind = Assert.Throws<FormatException>(() => target.LoadWeights(dir.File("int.safetensors")));
        Assert.Contains("embeddings.word_embeddings.weight: file Int64", kind.Message);
        Unchanged();
        File.WriteAllBytes(dir.File("model.safetensors"), []);
        Assert.Contains("model.safetensors", Assert.Throws<FormatException>(() => target.LoadWeights(dir.File("model.safetensors"))).Message);
        Unchanged();
    }
}
