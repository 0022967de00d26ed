using GroupRobust.Models;
using GroupRobust.Pretrained;
using GroupRobust.Tests.TestSupport;
using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.OnnxRuntime.Tensors;
using TorchSharp;
using static TorchSharp.torch;
using Tensor = TorchSharp.torch.Tensor;

namespace GroupRobust.Tests.Pretrained;

/// <summary>
/// Real ImageNet weights: the ResNet of the Microsoft.ML.DnnImageFeaturizer.ResNet18 package (CNTK's ONNX export under
/// generated names) placed into a ResNet with torchvision's names by walking its graph, against ONNX Runtime running
/// the package's two graphs (preprocessing, then the network) on real images. That "ResNet18" has 2, 2, 2 and 3 basic blocks per stage (the graph says so; torchvision's has 2, 2, 2, 2).
/// </summary>
public class PackagedResNet18Tests
{
    private static string Model(string name) => Path.Combine(AppContext.BaseDirectory, "DnnImageModels", name);

    /// <summary>Eight real Fashion-MNIST test images, 28 x 28 grey, upscaled to RGB 224 x 224 with values in 0..255.</summary>
    private static Tensor Images()
    {
        var files = FashionMnistFixture.Load();
        var pixels = files.TestImages.Data.Take(8 * 784).Select(b => (float)b).ToArray();
        using var grey = torch.tensor(pixels).view(8, 1, 28, 28);
        using var large = nn.functional.interpolate(grey, [224, 224], mode: InterpolationMode.Bilinear, align_corners: false);
        return large.expand(8, 3, 224, 224).contiguous();
    }

    [Fact]
    public void The_packaged_resnet18_gives_onnx_runtimes_features_on_real_images()
    {
        using var model = Backbones.ResNetFromOnnx(2, Model("ResNet18Onnx/ResNet18.onnx"), Model("ResNetPrepOnnx/ResNetPreprocess.onnx"));
        model.eval();
        using var images = Images();
        using var dataset = new GroupRobust.Data.TensorGroupDataset(images.clone(), torch.zeros(8, ScalarType.Int64), GroupRobust.Groups.GroupScheme.Binary());
        using var features = FeatureExtractor.Extract(model, dataset, batchSize: 4);   // the input of resnet.fc: the pooled 512 features
        Assert.Equal(new long[] { 8, 512 }, features.Inputs.shape);

        using var prep = new InferenceSession(Model("ResNetPrepOnnx/ResNetPreprocess.onnx"));
        using var net = new InferenceSession(Model("ResNet18Onnx/ResNet18.onnx"));
        double maxDiff = 0, scale = 0;
        for (int i = 0; i < 8; i++)
        {
            using var one = images[i].contiguous();
            var input = new DenseTensor<float>(one.data<float>().ToArray(), [1, 3, 224, 224]);
            using var prepared = prep.Run([NamedOnnxValue.CreateFromTensor("OriginalInput", input)]);
            var bgr = prepared.First().AsTensor<float>().ToDenseTensor();
            using var output = net.Run([NamedOnnxValue.CreateFromTensor("Input247", bgr)]);
            var expected = output.First().AsTensor<float>().ToArray();
            var actual = features.Inputs[i].data<float>().ToArray();
            for (int j = 0; j < 512; j++)
            {
                maxDiff = Math.Max(maxDiff, Math.Abs(expected[j] - actual[j]));
                scale = Math.Max(scale, Math.Abs(expected[j]));
            }
        }
        Assert.True(scale > 0.1, "the features must not be trivially zero");
        Assert.True(maxDiff < 1e-4, $"max |ours - ONNX Runtime| = {maxDiff} (largest feature {scale})");
    }

    [Fact]
    public void Graphs_of_another_form_are_refused_naming_the_file()
    {
        using var dir = new TempDirectory();
        // the preprocessing graph is not a ResNet; the ResNet is not a preprocessing graph
        var ex = Assert.Throws<FormatException>(() => Backbones.ResNetFromOnnx(2, Model("ResNetPrepOnnx/ResNetPreprocess.onnx"), Model("ResNetPrepOnnx/ResNetPreprocess.onnx")));
        Assert.Contains("ResNetPreprocess.onnx", ex.Message);
        ex = Assert.Throws<FormatException>(() => Backbones.ResNetFromOnnx(2, Model("ResNet18Onnx/ResNet18.onnx"), Model("ResNet18Onnx/ResNet18.onnx")));
        Assert.Contains("MeanImage", ex.Message);
        Assert.Throws<FileNotFoundException>(() => Backbones.ResNetFromOnnx(2, dir.File("absent.onnx"), Model("ResNetPrepOnnx/ResNetPreprocess.onnx")));
        using var model = Backbones.ResNetFromOnnx(2, Model("ResNet18Onnx/ResNet18.onnx"), Model("ResNetPrepOnnx/ResNetPreprocess.onnx"));
        using var small = torch.zeros(1, 3, 32, 32);
        Assert.Contains("[B, 3, 224, 224]", Assert.Throws<ArgumentException>(() => model.call(small)).Message);
    }
}
