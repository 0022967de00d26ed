using Google.Protobuf;
using GroupRobust.Pretrained;
using GroupRobust.Tests.TestSupport;
using Onnx;
using TorchSharp;

namespace GroupRobust.Tests.Pretrained;

/// <summary>ONNX initializers as a state dict: the linear layers put back under their names through the graph (the real model: Text/Encoders/MiniLmReferenceTests).</summary>
public class OnnxWeightsTests
{
    internal static TensorProto Floats(string name, long[] dims, float[] values)
    {
        var t = new TensorProto { Name = name, DataType = (int)TensorProto.Types.DataType.Float };
        t.Dims.AddRange(dims);
        t.RawData = ByteString.CopyFrom(System.Runtime.InteropServices.MemoryMarshal.AsBytes(values.AsSpan()).ToArray());
        return t;
    }

    internal static NodeProto Node(string op, string name, string[] inputs, string output, params AttributeProto[] attributes)
    {
        var n = new NodeProto { OpType = op, Name = name };
        n.Input.AddRange(inputs);
        n.Output.Add(output);
        n.Attribute.AddRange(attributes);
        return n;
    }

    /// <summary>x [1, 2] -> MatMul(x, W1 [2, 3]) + fc1.bias -> Gemm(h, W2 [3, 2], fc2.bias) (transB = 0), as torch.onnx.export writes Linear layers.</summary>
    internal static ModelProto TwoLinears(string secondBias = "fc2.bias")
    {
        var graph = new GraphProto { Name = "g" };
        graph.Initializer.Add(Floats("7", [2, 3], [1, 2, 3, 4, 5, 6]));               // W1^T: Linear(2, 3).weight is [[1, 4], [2, 5], [3, 6]]
        graph.Initializer.Add(Floats("fc1.bias", [3], [0.1f, 0.2f, 0.3f]));
        graph.Initializer.Add(Floats("8", [3, 2], [1, 0, 0, 1, 1, 1]));
        graph.Initializer.Add(Floats(secondBias, [2], [0.5f, -0.5f]));
        graph.Node.Add(Node("MatMul", "MatMul_0", ["x", "7"], "m"));
        graph.Node.Add(Node("Add", "Add_1", ["fc1.bias", "m"], "h"));
        graph.Node.Add(Node("Gemm", "Gemm_2", ["h", "8", secondBias], "y", new AttributeProto { Name = "transB", I = 0, Type = AttributeProto.Types.AttributeType.Int }));
        return new ModelProto { IrVersion = 7, Graph = graph };
    }

    [Fact]
    public void Matmul_and_gemm_weights_are_named_by_the_bias_they_are_added_to_and_transposed()
    {
        using var dir = new TempDirectory();
        string path = dir.File("two.onnx");
        File.WriteAllBytes(path, TwoLinears().ToByteArray());
        var weights = OnnxWeights.Read(path);
        try
        {
            Assert.Equal(["fc1.bias", "fc1.weight", "fc2.bias", "fc2.weight"], weights.Keys.Order(StringComparer.Ordinal));
            Assert.Equal(new long[] { 3, 2 }, weights["fc1.weight"].shape);
            Assert.Equal(new float[] { 1, 4, 2, 5, 3, 6 }, weights["fc1.weight"].data<float>().ToArray());
            Assert.Equal(new float[] { 1, 0, 1, 0, 1, 1 }, weights["fc2.weight"].data<float>().ToArray());
            // the same file loads into nn.Sequential(fc1, fc2) through PretrainedWeights
            using var model = torch.nn.Sequential(("fc1", torch.nn.Linear(2, 3)), ("fc2", torch.nn.Linear(3, 2)));
            var report = PretrainedWeights.Load(model, path);
            Assert.Equal(4, report.Loaded.Count);
            using var x = torch.tensor(new float[] { 1, -1 }).view(1, 2);
            using var y = model.call(x);
            // h = x W1 + b1 = [1 - 4, 2 - 5, 3 - 6] + b1 = [-2.9, -2.8, -2.7]; y = h W2 + b2 = [-2.9 - 2.7, -2.8 - 2.7] + [0.5, -0.5]
            Assert.Equal(new float[] { -5.1f, -6.0f }, y.data<float>().ToArray().Select(v => MathF.Round(v, 4)).ToArray());
        }
        finally
        {
            foreach (var t in weights.Values) t.Dispose();
        }
    }

    [Fact]
    public void Files_that_are_not_onnx_or_cannot_be_mapped_are_refused_with_the_reason()
    {
        using var dir = new TempDirectory();
        string path = dir.File("bad.onnx");
        File.WriteAllBytes(path, [0xFF, 0xFF, 0xFF, 0xFF, 0x0F]);
        Assert.Contains(path, Assert.Throws<FormatException>(() => OnnxWeights.Read(path)).Message);
        Assert.Throws<FileNotFoundException>(() => OnnxWeights.Read(dir.File("absent.onnx")));

        // two MatMul weights added to the same bias would both be fc1.weight: the graph cannot name them
        var twice = TwoLinears();
        twice.Graph.Initializer.Add(Floats("9", [2, 3], [6, 5, 4, 3, 2, 1]));
        twice.Graph.Node.Add(Node("MatMul", "MatMul_3", ["x", "9"], "m2"));
        twice.Graph.Node.Add(Node("Add", "Add_4", ["m2", "fc1.bias"], "h2"));
        File.WriteAllBytes(path, twice.ToByteArray());
        var ambiguous = Assert.Throws<FormatException>(() => OnnxWeights.Read(path)).Message;
        Assert.Contains("'fc1.weight'", ambiguous);
        Assert.Contains("MatMul_3", ambiguous);

        var external = TwoLinears();
        external.Graph.Initializer[0].DataLocation = TensorProto.Types.DataLocation.External;
        File.WriteAllBytes(path, external.ToByteArray());
        Assert.Contains("external data", Assert.Throws<FormatException>(() => OnnxWeights.Read(path)).Message);

        var shortData = TwoLinears();
        shortData.Graph.Initializer[1].RawData = ByteString.CopyFrom(new byte[8]);
        File.WriteAllBytes(path, shortData.ToByteArray());
        var ex = Assert.Throws<FormatException>(() => OnnxWeights.Read(path));
        Assert.Contains("'fc1.bias' has 8 bytes", ex.Message);

        var strings = TwoLinears();
        strings.Graph.Initializer[1].DataType = (int)TensorProto.Types.DataType.String;
        File.WriteAllBytes(path, strings.ToByteArray());
        Assert.Contains("String", Assert.Throws<FormatException>(() => OnnxWeights.Read(path)).Message);
    }
}
