using System.IO.Compression;
using Google.Protobuf;
using GroupRobust.Pretrained;
using GroupRobust.Tests.TestSupport;
using Onnx;
using TorchSharp;
using TorchSharp.PyBridge;
using static TorchSharp.torch;

namespace GroupRobust.Tests.Pretrained;

/// <summary>PyTorch, safetensors and ONNX weight files that are cut, tampered with, poisoned with NaN, or ambiguous.</summary>
public class PretrainedWeightsAdversarialTests
{
    private static string Fixture(string name) => Path.Combine(AppContext.BaseDirectory, "Fixtures", "Pretrained", name);

    private static string Refused(Func<object> read, params string[] expected)
    {
        var ex = Assert.Throws<FormatException>(read);
        foreach (var e in expected) Assert.Contains(e, ex.Message);
        return ex.Message;
    }

    private static void DisposeAll(Dictionary<string, Tensor> tensors)
    {
        foreach (var t in tensors.Values) t.Dispose();
    }

    [Fact]
    public void Cut_empty_and_tampered_pytorch_and_safetensors_files_are_refused_naming_the_file()
    {
        using var dir = new TempDirectory();
        var pth = File.ReadAllBytes(Fixture("tiny.pth"));
        var st = File.ReadAllBytes(Fixture("tiny.safetensors"));
        File.WriteAllBytes(dir.File("cut.pth"), pth[..(pth.Length / 2)]);
        Refused(() => PretrainedWeights.Read(dir.File("cut.pth")), "cut.pth");
        File.WriteAllBytes(dir.File("cut.safetensors"), st[..(st.Length / 2)]);
        Refused(() => PretrainedWeights.Read(dir.File("cut.safetensors")), "cut.safetensors");
        // a safetensors header length of 2^60 in a small file
        File.WriteAllBytes(dir.File("huge.safetensors"), [.. BitConverter.GetBytes(1UL << 60), .. st[8..]]);
        Refused(() => PretrainedWeights.Read(dir.File("huge.safetensors")), "huge.safetensors");
        // bytes appended after the last tensor
        File.WriteAllBytes(dir.File("long.safetensors"), [.. st, 1, 2, 3, 4]);
        Refused(() => PretrainedWeights.Read(dir.File("long.safetensors")), "long.safetensors");
        foreach (var name in new[] { "empty.pth", "empty.safetensors", "empty.onnx" })
        {
            File.WriteAllBytes(dir.File(name), []);
            Refused(() => PretrainedWeights.Read(dir.File(name)), name);
        }
        Directory.CreateDirectory(dir.File("folder.pth"));
        Assert.Contains("folder.pth", Assert.Throws<FileNotFoundException>(() => PretrainedWeights.Read(dir.File("folder.pth"))).Message);
        // a storage of the zip archive shortened: the tensor would read past its bytes
        File.Copy(Fixture("tiny.pth"), dir.File("short.pth"));
        using (var zip = ZipFile.Open(dir.File("short.pth"), ZipArchiveMode.Update))
        {
            var storage = zip.Entries.Where(e => e.FullName.Contains("/data/", StringComparison.Ordinal) && e.Length >= 64).OrderByDescending(e => e.Length).First();
            string name = storage.FullName;
            byte[] bytes;
            using (var s = storage.Open()) { var m = new MemoryStream(); s.CopyTo(m); bytes = m.ToArray(); }
            storage.Delete();
            using var w = zip.CreateEntry(name, CompressionLevel.NoCompression).Open();
            w.Write(bytes, 0, bytes.Length / 2);
        }
        Refused(() => PretrainedWeights.Read(dir.File("short.pth")), "short.pth");
    }

    [Fact]
    public void Weights_with_NaN_or_infinity_are_refused_and_the_model_is_unchanged()
    {
        using var scope = NewDisposeScope();
        using var model = nn.Linear(2, 2);
        var before = model.state_dict().ToDictionary(kv => kv.Key, kv => kv.Value.clone());
        var poisoned = new Dictionary<string, Tensor>
        {
            ["weight"] = torch.tensor(new float[] { 1, float.NaN, 3, 4 }).reshape(2, 2),
            ["bias"] = torch.tensor(new float[] { 0, 0 }),
        };
        Refused(() => PretrainedWeights.Load(model, poisoned, "poisoned weights"), "poisoned weights", "weight", "NaN or infinite");
        foreach (var (key, t) in model.state_dict()) Assert.True(t.equal(before[key]).all().item<bool>(), $"{key} changed");
        using var dir = new TempDirectory();
        Safetensors.SaveStateDict(dir.File("inf.safetensors"), new Dictionary<string, Tensor>
        {
            ["weight"] = torch.ones(2, 2),
            ["bias"] = torch.tensor(new float[] { float.PositiveInfinity, 0 }),
        });
        Refused(() => PretrainedWeights.Load(model, dir.File("inf.safetensors")), "inf.safetensors", "bias");
        foreach (var (key, t) in model.state_dict()) Assert.True(t.equal(before[key]).all().item<bool>(), $"{key} changed");
        // the caller's options: a null prefix to skip
        Assert.Equal("options", Assert.Throws<ArgumentException>(() => PretrainedWeights.Load(model, before, "clean", new PretrainedLoadOptions { Skip = [null!] })).ParamName);
    }

    [Fact]
    public void Onnx_graphs_with_a_repeated_name_an_impossible_shape_or_a_node_without_output_are_refused()
    {
        using var dir = new TempDirectory();
        string path = dir.File("bad.onnx");
        string Fails(ModelProto model, params string[] expected)
        {
            File.WriteAllBytes(path, model.ToByteArray());
            return Refused(() => OnnxWeights.Read(path), [path, .. expected]);
        }
        var twice = OnnxWeightsTests.TwoLinears();
        twice.Graph.Initializer.Add(OnnxWeightsTests.Floats("fc1.bias", [3], [9, 9, 9]));
        Fails(twice, "initializer 'fc1.bias'", "twice");

        var negative = OnnxWeightsTests.TwoLinears();
        var square = new TensorProto { Name = "square", DataType = (int)TensorProto.Types.DataType.Float };
        square.Dims.AddRange([-2, -2]);
        square.FloatData.AddRange([1f, 2f, 3f, 4f]);
        negative.Graph.Initializer.Add(square);
        Fails(negative, "'square'", "negative dimension");

        var overflow = OnnxWeightsTests.TwoLinears();
        var huge = new TensorProto { Name = "huge", DataType = (int)TensorProto.Types.DataType.Float };
        huge.Dims.AddRange([1L << 32, 1L << 32]);
        overflow.Graph.Initializer.Add(huge);
        Fails(overflow, "'huge'", "[4294967296, 4294967296]");

        var noOutput = OnnxWeightsTests.TwoLinears();
        var matmul = new NodeProto { OpType = "MatMul", Name = "MatMul_9" };
        matmul.Input.AddRange(["h", "7"]);
        noOutput.Graph.Node.Add(matmul);
        Fails(noOutput, "MatMul_9", "no output");

        // an empty file, half a file
        File.WriteAllBytes(path, []);
        Refused(() => OnnxWeights.Read(path), path);
        var whole = OnnxWeightsTests.TwoLinears().ToByteArray();
        File.WriteAllBytes(path, whole[..(whole.Length / 2)]);
        Refused(() => OnnxWeights.Read(path), path);
    }

    [Fact]
    public void A_read_that_fails_at_the_last_initializer_leaks_none_of_the_tensors_it_made()
    {
        using var dir = new TempDirectory();
        string path = dir.File("last.onnx");
        var model = OnnxWeightsTests.TwoLinears();
        model.Graph.Initializer[3].RawData = ByteString.CopyFrom(new byte[4]);   // fc2.bias: 4 bytes for 2 floats
        File.WriteAllBytes(path, model.ToByteArray());
        LeakCheck.AssertFlat(() => Refused(() => OnnxWeights.Read(path), "'fc2.bias' has 4 bytes"), warmup: 2, steps: 20);
        File.WriteAllBytes(dir.File("cut.pth"), File.ReadAllBytes(Fixture("tiny.pth"))[..^100]);
        LeakCheck.AssertFlat(() => Refused(() => PretrainedWeights.Read(dir.File("cut.pth")), "cut.pth"), warmup: 2, steps: 10);
        var ok = PretrainedWeights.Read(Fixture("tiny.safetensors"));
        Assert.NotEmpty(ok);
        DisposeAll(ok);
    }
}
