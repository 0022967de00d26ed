using TorchSharp;
using static TorchSharp.torch;

namespace GroupRobust.Pretrained;

/// <summary>
/// The backbones every published number for these methods starts from (group_DRO, JTT, JM1: an ImageNet-pretrained
/// ResNet-50; many follow-ups: ResNet-18), as TorchVision for TorchSharp's models, optionally with torchvision's
/// weights. Get the weights once with PyTorch, for example
/// <c>torch.save(torchvision.models.resnet50(weights="IMAGENET1K_V1").state_dict(), "resnet50.pth")</c>.
/// </summary>
public static class Backbones
{
    /// <summary>ResNet-18 with a <paramref name="classes"/>-way head; with <paramref name="weights"/>, every tensor but the head is loaded (the head is new unless it has 1000 classes).</summary>
    /// <exception cref="FormatException">The weights do not fit a ResNet-18 (the keys are listed).</exception>
    public static nn.Module<Tensor, Tensor> ResNet18(int classes, string? weights = null)
        => WithWeights(() => torchvision.models.resnet18(num_classes: classes), classes, weights);

    /// <summary>ResNet-50 with a <paramref name="classes"/>-way head; with <paramref name="weights"/>, every tensor but the head is loaded (the head is new unless it has 1000 classes).</summary>
    /// <exception cref="FormatException">The weights do not fit a ResNet-50 (the keys are listed).</exception>
    public static nn.Module<Tensor, Tensor> ResNet50(int classes, string? weights = null)
        => WithWeights(() => torchvision.models.resnet50(num_classes: classes), classes, weights);

    /// <summary>
    /// The ImageNet ResNet of an ONNX export under generated names, as the NuGet package Microsoft.ML.DnnImageFeaturizer.ResNet18
    /// ships it (tools/DnnImageModels: ResNet18Onnx/ResNet18.onnx, CNTK's export, and ResNetPrepOnnx/ResNetPreprocess.onnx,
    /// its input preprocessing), with a new <paramref name="classes"/>-way head. The weights are placed by walking the graph
    /// (<c>conv1</c>, <c>bn1</c>, <c>layer1.0.conv1</c>, ..., shortcuts as <c>downsample</c>) into a ResNet of basic blocks with
    /// torchvision's names and the graph's blocks per stage: that package's "ResNet18" has 2, 2, 2 and 3 (torchvision's
    /// ResNet-18 has 2, 2, 2, 2), 512 pooled features. Its arithmetic matches the export's at 224 x 224.
    /// </summary>
    /// <remarks>
    /// The model is <c>Sequential(preprocess, resnet)</c>: "preprocess" does what ResNetPreprocess.onnx does (RGB to BGR,
    /// minus its 224 x 224 mean image), so the input is RGB [B, 3, 224, 224] with values in 0..255 (as ML.NET loads images;
    /// with GroupRobust's image pipeline: resize to 224 x 224, mean 0, std 1/255). Mixing layers and last-layer retraining
    /// see torchvision's names under "resnet." ("resnet.layer1", the head "resnet.fc").
    /// </remarks>
    /// <param name="classes">Classes of the new head, at least 2.</param>
    /// <param name="modelPath">ResNet18.onnx.</param>
    /// <param name="preprocessingPath">ResNetPreprocess.onnx (its initializer "MeanImage" [1, 3, 224, 224]).</param>
    /// <exception cref="FileNotFoundException">A file is missing.</exception>
    /// <exception cref="FormatException">A graph is not of that form (the node or initializer is named).</exception>
    public static nn.Module<Tensor, Tensor> ResNetFromOnnx(int classes, string modelPath, string preprocessingPath)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(classes, 2);
        ArgumentException.ThrowIfNullOrEmpty(modelPath);
        ArgumentException.ThrowIfNullOrEmpty(preprocessingPath);
        foreach (var path in new[] { modelPath, preprocessingPath })
            if (!File.Exists(path)) throw new FileNotFoundException($"{path}: no such ONNX file.", path);
        var (weights, blocks) = OnnxResNet.Read(modelPath);
        Tensor? mean = null;
        nn.Module<Tensor, Tensor>? resnet = null;
        try
        {
            if (blocks.Length != 4) throw new FormatException($"{modelPath}: {blocks.Length} stages of blocks; a ResNet has 4.");
            mean = MeanImage(preprocessingPath);
            resnet = new BasicBlockResNet(blocks, classes);
            // the export has no head and no batch-norm step counters (they only count): every other key must match, both ways
            var options = new PretrainedLoadOptions { Skip = ["fc."], Strict = false };
            var report = PretrainedWeights.Load(resnet, weights, modelPath, options);
            var missing = report.Skipped.Where(k => !k.StartsWith("fc.", StringComparison.Ordinal) && !k.EndsWith(".num_batches_tracked", StringComparison.Ordinal)).ToList();
            if (missing.Count > 0 || report.Ignored.Count > 0)
                throw new FormatException($"{modelPath}: the graph's weights do not fit a ResNet of {string.Join(", ", blocks)} basic blocks: " +
                    $"{missing.Count} model tensor(s) without weights ({string.Join(", ", missing.Take(5))}), {report.Ignored.Count} unused ({string.Join(", ", report.Ignored.Take(5))}).");
            var model = nn.Sequential(("preprocess", new BgrMeanImage(mean)), ("resnet", resnet));
            mean = null;
            resnet = null;
            return model;
        }
        finally
        {
            mean?.Dispose();
            resnet?.Dispose();
            foreach (var t in weights.Values) t.Dispose();
        }
    }

    private static Tensor MeanImage(string path)
    {
        using var stream = File.OpenRead(path);
        var graph = OnnxWeights.ParseGraph(stream, path);
        var init = graph.Initializer.FirstOrDefault(t => t.Name == "MeanImage")
            ?? throw new FormatException($"{path}: no initializer 'MeanImage'; expected ResNetPreprocess.onnx (RGB to BGR, minus a mean image).");
        var mean = OnnxWeights.ToTensor(init, path);
        if (!mean.shape.SequenceEqual(new long[] { 1, 3, 224, 224 }) || mean.dtype != ScalarType.Float32)
        {
            string shape = string.Join(", ", mean.shape);
            mean.Dispose();
            throw new FormatException($"{path}: 'MeanImage' is [{shape}]; expected float [1, 3, 224, 224].");
        }
        return mean;
    }

    private static nn.Module<Tensor, Tensor> WithWeights(Func<nn.Module<Tensor, Tensor>> create, int classes, string? weights)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(classes, 2);
        var model = create();
        if (weights is null) return model;
        try
        {
            PretrainedWeights.Load(model, weights, new PretrainedLoadOptions { Skip = classes == 1000 ? [] : ["fc."] });
            return model;
        }
        catch
        {
            model.Dispose();
            throw;
        }
    }
}
