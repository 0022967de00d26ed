using Onnx;
using TorchSharp;
using static TorchSharp.torch;

namespace GroupRobust.Pretrained;

/// <summary>
/// The weights of a ResNet exported to ONNX under generated names (CNTK's "Parameter91", as the
/// Microsoft.ML.DnnImageFeaturizer packages ship them), under torchvision's names, found by walking the graph: the first
/// Conv is the stem (conv1, bn1); each Add closes a block (layer1.0, layer1.1, ...); inside a block the convolutions on the
/// main path are conv1, conv2 (conv3), and the one whose normalised output goes straight into the Add is the shortcut
/// (downsample.0, downsample.1), which also starts a new layer after the first block. Each BatchNormalization's scale,
/// bias, mean and variance become weight, bias, running_mean and running_var.
/// </summary>
internal static class OnnxResNet
{
    /// <summary>The state dict (torchvision names, no fc) of the ResNet graph and its blocks per stage; the caller disposes the tensors.</summary>
    /// <exception cref="FormatException">The graph is not a ResNet of this form (the node is named).</exception>
    public static (Dictionary<string, Tensor> Weights, int[] Blocks) Read(string path)
    {
        using var stream = File.OpenRead(path);
        var graph = OnnxWeights.ParseGraph(stream, path);
        var initializers = graph.Initializer.ToDictionary(t => t.Name, StringComparer.Ordinal);
        var producer = new Dictionary<string, NodeProto>(StringComparer.Ordinal);
        foreach (var n in graph.Node)
            foreach (var o in n.Output) producer[o] = n;
        var consumers = new Dictionary<string, List<NodeProto>>(StringComparer.Ordinal);
        foreach (var n in graph.Node)
            foreach (var i in n.Input)
            {
                if (!consumers.TryGetValue(i, out var list)) consumers[i] = list = [];
                list.Add(n);
            }

        var names = new Dictionary<string, string>(StringComparer.Ordinal);   // initializer -> torchvision key
        void Name(string initializer, string key, NodeProto node)
        {
            if (!initializers.ContainsKey(initializer))
                throw new FormatException($"{path}: node '{node.Name}' ({node.OpType}) reads '{initializer}', which is not an initializer; not a ResNet exported with its weights.");
            names[initializer] = key;
        }
        void Conv(NodeProto conv, string prefix)
        {
            if (conv.Input.Count != 2) throw new FormatException($"{path}: convolution '{conv.Name}' has a bias; torchvision's ResNets have none (BatchNormalization follows).");
            Name(conv.Input[1], prefix + ".weight", conv);
        }
        NodeProto NormOf(NodeProto conv)
        {
            var bn = consumers.GetValueOrDefault(conv.Output[0])?.SingleOrDefault(n => n.OpType == "BatchNormalization")
                ?? throw new FormatException($"{path}: convolution '{conv.Name}' is not followed by a BatchNormalization; not a ResNet of torchvision's form.");
            return bn;
        }
        void Norm(NodeProto bn, string prefix)
        {
            Name(bn.Input[1], prefix + ".weight", bn);
            Name(bn.Input[2], prefix + ".bias", bn);
            Name(bn.Input[3], prefix + ".running_mean", bn);
            Name(bn.Input[4], prefix + ".running_var", bn);
        }

        var convs = graph.Node.Where(n => n.OpType == "Conv").ToList();
        if (convs.Count == 0) throw new FormatException($"{path}: no convolution; not a ResNet.");
        Conv(convs[0], "conv1");
        Norm(NormOf(convs[0]), "bn1");
        var pending = new List<NodeProto>();   // the convolutions since the last block closed
        int layer = 1, block = -1, blocks = 0;
        var perStage = new List<int> { 0 };
        foreach (var node in graph.Node)
        {
            if (node.OpType == "Conv" && node != convs[0]) pending.Add(node);
            if (node.OpType != "Add") continue;
            if (pending.Count == 0) throw new FormatException($"{path}: Add '{node.Name}' closes a block without convolutions.");
            // the shortcut: a convolution whose normalised output is an input of this Add, and that is not the main path's last
            var intoAdd = pending.Where(c => node.Input.Contains(NormOf(c).Output[0])).ToList();
            var shortcut = intoAdd.Count == 2 ? intoAdd.First(c => !MainPath(c, pending, producer)) : null;
            bool first = blocks == 0;
            if (shortcut is not null && !first)
            {
                (layer, block) = (layer + 1, 0);
                perStage.Add(0);
            }
            else block++;
            perStage[^1]++;
            blocks++;
            string prefix = $"layer{layer}.{block}";
            int k = 0;
            foreach (var c in pending.Where(c => c != shortcut))
            {
                k++;
                Conv(c, $"{prefix}.conv{k}");
                Norm(NormOf(c), $"{prefix}.bn{k}");
            }
            if (shortcut is not null)
            {
                Conv(shortcut, $"{prefix}.downsample.0");
                Norm(NormOf(shortcut), $"{prefix}.downsample.1");
            }
            pending.Clear();
        }
        if (pending.Count > 0) throw new FormatException($"{path}: {pending.Count} convolution(s) after the last block's Add; not a ResNet of torchvision's form.");
        var unnamed = initializers.Keys.Where(k => !names.ContainsKey(k)).ToList();
        if (unnamed.Count > 0)
            throw new FormatException($"{path}: {unnamed.Count} initializer(s) the ResNet walk did not place ({string.Join(", ", unnamed.Take(5))}); a head or another architecture?");
        var result = new Dictionary<string, Tensor>(StringComparer.Ordinal);
        try
        {
            foreach (var (initializer, key) in names) result[key] = OnnxWeights.ToTensor(initializers[initializer], path);
            return (result, perStage.ToArray());
        }
        catch
        {
            foreach (var t in result.Values) t.Dispose();
            throw;
        }
    }

    /// <summary>Whether <paramref name="conv"/> reads the output of another convolution of the block (the main path after its first layer).</summary>
    private static bool MainPath(NodeProto conv, List<NodeProto> block, Dictionary<string, NodeProto> producer)
    {
        // walk back through Relu and BatchNormalization to the node that made the convolution's input
        var input = conv.Input[0];
        while (producer.TryGetValue(input, out var p) && p.OpType is "Relu" or "BatchNormalization") input = p.Input[0];
        return producer.TryGetValue(input, out var source) && block.Contains(source);
    }
}
