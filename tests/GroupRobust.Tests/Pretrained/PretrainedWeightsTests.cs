using GroupRobust.Pretrained;
using GroupRobust.Tests.TestSupport;
using TorchSharp;
using TorchSharp.Modules;
using TorchSharp.PyBridge;
using static TorchSharp.torch;
using static TorchSharp.torch.nn;

namespace GroupRobust.Tests.Pretrained;

/// <summary>Weights saved by PyTorch (Fixtures/Pretrained, made by make-fixtures.py with Debian's python3-torch) in TorchSharp models.</summary>
public class PretrainedWeightsTests
{
    private static string Fixture(string name) => Path.Combine(AppContext.BaseDirectory, "Fixtures", "Pretrained", name);

    /// <summary>torchvision's BasicBlock at width 4 -> 8 with a downsampling shortcut, as in make-fixtures.py.</summary>
    private sealed class Block : Module<Tensor, Tensor>
    {
        private readonly Conv2d conv1 = Conv2d(4, 8, 3, stride: 2, padding: 1, bias: false);
        private readonly BatchNorm2d bn1 = BatchNorm2d(8);
        private readonly Conv2d conv2 = Conv2d(8, 8, 3, padding: 1, bias: false);
        private readonly BatchNorm2d bn2 = BatchNorm2d(8);
        private readonly Sequential downsample = Sequential(Conv2d(4, 8, 1, stride: 2, bias: false), BatchNorm2d(8));

        public Block() : base("Block") => RegisterComponents();

        public override Tensor forward(Tensor x)
        {
            var y = functional.relu(bn1.call(conv1.call(x)));
            y = bn2.call(conv2.call(y));
            return functional.relu(y + downsample.call(x));
        }
    }

    /// <summary>make-fixtures.py's TinyResNet: torchvision's ResNet names (conv1, bn1, layer1.0..., fc).</summary>
    internal sealed class TinyResNet : Module<Tensor, Tensor>
    {
        private readonly Conv2d conv1 = Conv2d(3, 4, 3, padding: 1, bias: false);
        private readonly BatchNorm2d bn1 = BatchNorm2d(4);
        private readonly Sequential layer1 = Sequential(new Block());
        private readonly Linear fc;

        public TinyResNet(int classes = 2) : base("TinyResNet")
        {
            fc = Linear(8, classes);
            RegisterComponents();
        }

        public override Tensor forward(Tensor x)
        {
            var y = layer1.call(functional.relu(bn1.call(conv1.call(x))));
            return fc.call(functional.adaptive_avg_pool2d(y, [1, 1]).flatten(1));
        }
    }

    [Theory]
    [InlineData("tiny.pth")]
    [InlineData("tiny.safetensors")]
    public void Weights_saved_by_pytorch_give_pytorchs_logits(string file)
    {
        using var scope = NewDisposeScope();
        using var model = new TinyResNet();
        model.eval();
        var report = PretrainedWeights.Load(model, Fixture(file));
        Assert.Equal(model.state_dict().Count, report.Loaded.Count);   // weights, biases and every batch-norm buffer
        Assert.Empty(report.Skipped);
        var io = PretrainedWeights.Read(Fixture("tiny-io.pth"));
        using var noGrad = torch.no_grad();
        var logits = model.call(io["input"]);
        double worst = (logits - io["logits"]).abs().max().item<float>();
        Assert.True(worst < 1e-5, $"largest difference to PyTorch's logits: {worst:E2}");
        foreach (var t in io.Values) t.Dispose();
    }

    [Fact]
    public void A_file_that_does_not_fit_is_reported_in_full_and_changes_nothing()
    {
        using var scope = NewDisposeScope();
        using var model = new TinyResNet(classes: 3);
        var before = model.state_dict().ToDictionary(kv => kv.Key, kv => kv.Value.clone());
        var ex = Assert.Throws<FormatException>(() => PretrainedWeights.Load(model, Fixture("tiny.pth")));
        Assert.Contains("tiny.pth does not fit the model", ex.Message);
        Assert.Contains("fc.weight: file [2, 8], model [3, 8]", ex.Message);
        Assert.Contains("fc.bias: file [2], model [3]", ex.Message);
        Assert.Contains("Skip its prefix", ex.Message);
        foreach (var (key, t) in model.state_dict()) Assert.True(t.equal(before[key]).all().item<bool>(), $"{key} changed");

        // a new head: skip it, everything else loads
        var report = PretrainedWeights.Load(model, Fixture("tiny.pth"), new PretrainedLoadOptions { Skip = ["fc."] });
        Assert.Equal(["fc.weight", "fc.bias"], report.Skipped.Order().Reverse());
        Assert.Contains("fc.weight", report.Ignored);
        Assert.True(model.state_dict()["fc.weight"].equal(before["fc.weight"]).all().item<bool>());
        Assert.False(model.state_dict()["conv1.weight"].equal(before["conv1.weight"]).all().item<bool>());
    }

    [Fact]
    public void Missing_and_unexpected_keys_are_named_unless_loading_is_not_strict()
    {
        using var scope = NewDisposeScope();
        // a model whose block is named differently: all of layer1 is missing from the file and unexpected in it
        using var other = Sequential(("conv1", Conv2d(3, 4, 3, padding: 1, bias: false)), ("bn1", BatchNorm2d(4)), ("head", Linear(8, 2)));
        var ex = Assert.Throws<FormatException>(() => PretrainedWeights.Load(other, Fixture("tiny.safetensors")));
        Assert.Contains("2 model key(s) missing from the file: head.weight, head.bias", ex.Message);
        Assert.Contains("file key(s) the model does not have: layer1.0.conv1.weight", ex.Message);
        Assert.Contains("and", ex.Message);   // more than eight unexpected keys are counted, not all listed
        var report = PretrainedWeights.Load(other, Fixture("tiny.safetensors"), new PretrainedLoadOptions { Strict = false });
        Assert.Equal(6, report.Loaded.Count);   // conv1.weight and bn1's five tensors
        Assert.Equal(["head.bias", "head.weight"], report.Skipped.Order());
        // not a state dict at all
        using var dir = new TempDirectory();
        File.WriteAllText(dir.File("garbage.pth"), "not a pickle");
        var bad = Assert.Throws<FormatException>(() => PretrainedWeights.Read(dir.File("garbage.pth")));
        Assert.Contains("garbage.pth", bad.Message);
        Assert.Throws<FileNotFoundException>(() => PretrainedWeights.Read(dir.File("absent.pth")));
    }

    [Theory]
    [InlineData("resnet18")]
    [InlineData("resnet50")]
    public void TorchVision_for_TorchSharp_takes_a_torchvision_checkpoint_key_for_key(string arch)
    {
        // resnet18-keys.tsv / resnet50-keys.tsv: torchvision 0.14's state_dict keys, dtypes and shapes
        var expected = File.ReadAllLines(Fixture($"{arch}-keys.tsv")).Select(l => l.Split('\t')).ToDictionary(p => p[0], p => (p[1], p[2]));
        using var model = arch == "resnet18" ? torchvision.models.resnet18() : torchvision.models.resnet50();
        var actual = model.state_dict();
        Assert.Equal(expected.Keys.Order(), actual.Keys.Order());
        foreach (var (key, t) in actual)
        {
            Assert.Equal(expected[key].Item2, string.Join(",", t.shape));
            Assert.Equal(expected[key].Item1, t.dtype == ScalarType.Int64 ? "int64" : "float32");
        }
    }

    [Fact]
    public void A_resnet18_backbone_loads_every_tensor_but_its_new_head()
    {
        using var dir = new TempDirectory();
        using var scope = NewDisposeScope();
        torch.random.manual_seed(11);
        using (var source = torchvision.models.resnet18()) source.save_py(dir.File("resnet18.pth"));   // a 1000-class checkpoint, as torchvision's
        using var backbone = Backbones.ResNet18(2, dir.File("resnet18.pth"));
        var weights = PretrainedWeights.Read(dir.File("resnet18.pth"));
        var state = backbone.state_dict();
        Assert.True(state["layer4.1.conv2.weight"].equal(weights["layer4.1.conv2.weight"]).all().item<bool>());
        Assert.Equal([2L, 512L], state["fc.weight"].shape);
        foreach (var t in weights.Values) t.Dispose();
    }
}
