using GroupRobust.Data.Features;
using GroupRobust.Pretrained;
using GroupRobust.Tests.Data.Features;
using GroupRobust.Tests.TestSupport;
using GroupRobust.Tests.Text.Encoders;
using Google.Protobuf;
using TorchSharp;
using TorchSharp.PyBridge;
using static TorchSharp.torch;

namespace GroupRobust.Tests.Pretrained;

/// <summary>
/// Every reader of weights and features, on its success path, 1,000 calls: the live tensor count stays flat (a handle
/// left to the finaliser counts as live), the caller disposing what it was given.
/// </summary>
[Collection(LeakCollection.Name)]
public class WeightReadingLeakTests
{
    private static string Fixture(string name) => Path.Combine(AppContext.BaseDirectory, "Fixtures", "Pretrained", name);

    private static void ReadAndFree(Func<Dictionary<string, Tensor>> read)
    {
        var tensors = read();
        Assert.NotEmpty(tensors);
        foreach (var t in tensors.Values) t.Dispose();
    }

    [Fact]
    public void Reading_pytorch_safetensors_onnx_and_npy_files_a_thousand_times_leaks_nothing()
    {
        LeakCheck.AssertFlat(() => ReadAndFree(() => PretrainedWeights.Read(Fixture("tiny.pth"))), warmup: 5, steps: 1000);
        LeakCheck.AssertFlat(() => ReadAndFree(() => PretrainedWeights.Read(Fixture("tiny.safetensors"))), warmup: 5, steps: 1000);
        LeakCheck.AssertFlat(() => ReadAndFree(() => SafetensorsFile.Read(Fixture("tiny.safetensors"))), warmup: 5, steps: 1000);
        using var dir = new TempDirectory();
        File.WriteAllBytes(dir.File("two.onnx"), OnnxWeightsTests.TwoLinears().ToByteArray());
        LeakCheck.AssertFlat(() => ReadAndFree(() => OnnxWeights.Read(dir.File("two.onnx"))), warmup: 5, steps: 1000);
        FeatureFileTests.WriteNpy(dir.File("f.npy"), "<f4", [2, 3], new float[6].SelectMany(BitConverter.GetBytes).ToArray());
        LeakCheck.AssertFlat(() => NpyFile.Read(dir.File("f.npy")).Dispose(), warmup: 5, steps: 1000);
    }

    [Fact]
    public void Loading_weights_into_a_model_a_thousand_times_leaks_nothing()
    {
        using var resnet = new PretrainedWeightsTests.TinyResNet();
        LeakCheck.AssertFlat(() => PretrainedWeights.Load(resnet, Fixture("tiny.pth")), warmup: 5, steps: 1000);

        using var dir = new TempDirectory();
        using (var source = BertEncoderTests.NewTiny(seed: 3)) source.save_safetensors(dir.File("bert.safetensors"));
        using var bert = BertEncoderTests.NewTiny(seed: 4);
        LeakCheck.AssertFlat(() => bert.LoadWeights(dir.File("bert.safetensors")), warmup: 5, steps: 1000);
    }
}
