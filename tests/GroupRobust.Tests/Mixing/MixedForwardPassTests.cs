using GroupRobust.Mixing;
using TorchSharp;
using static TorchSharp.torch;

namespace GroupRobust.Tests.Mixing;

public class MixedForwardPassTests
{
    private static nn.Module<Tensor, Tensor> Mlp()
    {
        torch.random.manual_seed(3);
        return nn.Sequential(("lin1", nn.Linear(4, 8)), ("act1", nn.ReLU()), ("lin2", nn.Linear(8, 6)), ("act2", nn.ReLU()), ("fc", nn.Linear(6, 3)));
    }

    [Fact]
    public void Sequential_mixes_at_the_named_layer_like_a_manual_computation()
    {
        using var model = Mlp();
        using var scope = NewDisposeScope();
        var x = torch.randn(5, 4);
        var p = torch.randn(5, 4);
        var c = torch.tensor(new[] { 0.1f, 0.5f, 0.9f, 1f, 0f });
        var mixer = new MixedForwardPass(model, ["act1"], new Random(0));
        var logits = mixer.Run(x, p, c);
        var seq = (TorchSharp.Modules.Sequential)model;
        var m = seq.named_children().ToDictionary(k => k.name, k => (nn.Module<Tensor, Tensor>)k.module);
        var hx = m["act1"].call(m["lin1"].call(x));
        var hp = m["act1"].call(m["lin1"].call(p));
        var mixed = hx * c.unsqueeze(1) + hp * (1 - c).unsqueeze(1);
        var expected = m["fc"].call(m["act2"].call(m["lin2"].call(mixed)));
        Assert.True(logits.allclose(expected, 1e-5, 1e-6));
        Assert.Equal("act1", mixer.LastLayer);
    }

    [Fact]
    public void Input_and_output_layers()
    {
        using var model = Mlp();
        using var scope = NewDisposeScope();
        var x = torch.randn(3, 4);
        var p = torch.randn(3, 4);
        var c = torch.tensor(new[] { 0.2f, 0.7f, 0.4f });
        var mixer = new MixedForwardPass(model, [MixedForwardPass.InputLayer, MixedForwardPass.OutputLayer], new Random(0));
        Assert.Equal("fc", mixer.ClassifierName);
        var atInput = mixer.Run(x, p, c, MixedForwardPass.InputLayer);
        Assert.True(atInput.allclose(model.call(x * c.unsqueeze(1) + p * (1 - c).unsqueeze(1)), 1e-5, 1e-6));
        // the classifier is affine, so mixing its input mixes the logits
        var atOutput = mixer.Run(x, p, c, MixedForwardPass.OutputLayer);
        var expected = model.call(x) * c.unsqueeze(1) + model.call(p) * (1 - c).unsqueeze(1);
        Assert.True(atOutput.allclose(expected, 1e-5, 1e-5));
    }

    [Fact]
    public void The_output_layer_of_a_nested_model_is_its_final_linear_not_the_last_one_TorchSharp_lists()
    {
        // TorchSharp's named_modules() lists direct children before grandchildren, so "features.1" comes after "fc" there
        using var model = nn.Sequential(("features", nn.Sequential(nn.Linear(4, 8), nn.ReLU())), ("fc", nn.Linear(8, 2)));
        Assert.Equal("features.0", model.named_modules().Last(m => m.module is TorchSharp.Modules.Linear).name);
        var mixer = new MixedForwardPass(model, [MixedForwardPass.OutputLayer], new Random(0));
        Assert.Equal("fc", mixer.ClassifierName);
        using var scope = NewDisposeScope();
        using var noGrad = torch.no_grad();
        var x = torch.randn(3, 4);
        var p = torch.randn(3, 4);
        var c = torch.tensor(new[] { 0.2f, 0.7f, 0.4f });
        var expected = model.call(x) * c.unsqueeze(1) + model.call(p) * (1 - c).unsqueeze(1);   // fc is affine
        Assert.True(mixer.Run(x, p, c).allclose(expected, 1e-5, 1e-5));
    }

    [Fact]
    public void Random_choice_is_uniform_over_the_candidates()
    {
        using var model = Mlp();
        var mixer = new MixedForwardPass(model, ["input", "act1", "output"], new GroupRobust.Randomness.ReproducibleRandom(1));
        var counts = Enumerable.Range(0, 3000).Select(_ => mixer.ChooseLayer()).GroupBy(s => s).ToDictionary(g => g.Key, g => g.Count());
        Assert.Equal(3, counts.Count);
        Assert.All(counts.Values, n => Assert.InRange(n, 900, 1100));
    }

    [Fact]
    public void Resnet18_mixes_at_layer1_and_output()
    {
        using var resnet = torchvision.models.resnet18(num_classes: 2);
        resnet.eval();
        using var scope = NewDisposeScope();
        using var noGrad = torch.no_grad();
        var x = torch.randn(2, 3, 32, 32);
        var p = torch.randn(2, 3, 32, 32);
        var mixer = new MixedForwardPass(resnet, ["layer1", "output"], new Random(0));
        Assert.Equal("fc", mixer.ClassifierName);
        // c = 1 keeps the batch, c = 0 takes the partner
        Assert.True(mixer.Run(x, p, torch.ones(2), "layer1").allclose(resnet.call(x), 1e-4, 1e-5));
        Assert.True(mixer.Run(x, p, torch.zeros(2), "layer1").allclose(resnet.call(p), 1e-4, 1e-5));
        var c = torch.tensor(new[] { 0.3f, 0.6f });
        var half = mixer.Run(x, p, c, "layer1");
        var linear = resnet.call(x) * c.unsqueeze(1) + resnet.call(p) * (1 - c).unsqueeze(1);
        Assert.False(half.allclose(linear, 1e-4, 1e-4)); // layer1 is followed by non-linear blocks
        var atOutput = mixer.Run(x, p, c, "output");
        Assert.True(atOutput.allclose(linear, 1e-4, 1e-4));
    }

    private sealed class ForwardCallingModel : nn.Module<Tensor, Tensor>
    {
        private readonly TorchSharp.Modules.Linear lin1 = nn.Linear(4, 5);
        private readonly TorchSharp.Modules.Linear fc = nn.Linear(5, 2);

        public ForwardCallingModel() : base(nameof(ForwardCallingModel)) => RegisterComponents();

        public MixedForwardPass? Mixer { get; set; }

        public override Tensor forward(Tensor x)
        {
            var h = lin1.forward(x);   // bypasses call(): hooks on lin1 never fire
            if (Mixer is not null) h = Mixer.MixHere("after_lin1", h);
            return fc.forward(h);
        }
    }

    [Fact]
    public void A_model_calling_forward_on_its_children_gets_the_explanation_and_can_use_explicit_points()
    {
        using var model = new ForwardCallingModel();
        using var scope = NewDisposeScope();
        var x = torch.randn(3, 4);
        var p = torch.randn(3, 4);
        var c = torch.full(3, 0.5f);
        var hooked = new MixedForwardPass(model, ["lin1"], new Random(0));
        var ex = Assert.Throws<InvalidOperationException>(() => hooked.Run(x, p, c));
        Assert.Contains("did not fire", ex.Message);
        Assert.Contains(".call(x)", ex.Message);
        Assert.Contains("MixHere", ex.Message);

        var explicitMixer = new MixedForwardPass(model, ["after_lin1"], new Random(0), explicitPoints: ["after_lin1"]);
        model.Mixer = explicitMixer;
        var logits = explicitMixer.Run(x, p, c);
        Assert.Equal(new long[] { 3, 2 }, logits.shape);
        model.Mixer = null;
        var unmixed = model.call(x);
        Assert.Equal(new long[] { 3, 2 }, unmixed.shape);
    }

    [Fact]
    public void Unknown_layers_and_bad_shapes_are_reported()
    {
        using var model = Mlp();
        var ex = Assert.Throws<ArgumentException>(() => new MixedForwardPass(model, ["layer9"], new Random(0)));
        Assert.Contains("no submodule 'layer9'", ex.Message);
        Assert.Contains("lin1", ex.Message);
        using var scope = NewDisposeScope();
        var mixer = new MixedForwardPass(model, ["act1"], new Random(0));
        Assert.Throws<ArgumentException>(() => mixer.Run(torch.randn(3, 4), torch.randn(2, 4), torch.ones(3)));
        Assert.Throws<ArgumentException>(() => mixer.Run(torch.randn(3, 4), torch.randn(3, 4), torch.ones(2)));
        Assert.Throws<ArgumentException>(() => mixer.Run(torch.randn(3, 4), torch.randn(3, 4), torch.ones(3), "lin2"));
    }

    [Fact]
    public void Detached_partners_give_the_same_mix_without_the_partner_gradient()
    {
        using var model = Mlp();
        using var scope = NewDisposeScope();
        var x = torch.randn(4, 4, requires_grad: true);
        var p = torch.randn(4, 4, requires_grad: true);
        var c = torch.full(4, 0.3f);
        var exact = new MixedForwardPass(model, ["act1"], new Random(0)).Run(x, p, c);
        var detached = new MixedForwardPass(model, ["act1"], new Random(0), detachPartners: true);
        Assert.True(detached.DetachPartners);
        var fast = detached.Run(x, p, c);
        Assert.True(exact.allclose(fast, 1e-6, 1e-7));
        fast.sum().backward();
        Assert.Null(p.grad);
        Assert.NotNull(x.grad);
    }

    [Fact]
    public void Gradients_flow_through_both_halves()
    {
        using var model = Mlp();
        using var scope = NewDisposeScope();
        var mixer = new MixedForwardPass(model, ["act1"], new Random(0));
        var logits = mixer.Run(torch.randn(4, 4), torch.randn(4, 4), torch.full(4, 0.5f));
        nn.functional.cross_entropy(logits, torch.tensor(new long[] { 0, 1, 2, 0 })).backward();
        Assert.All(model.parameters(), prm => Assert.True(prm.grad is not null && prm.grad.abs().sum().item<float>() > 0));
    }

    /// <summary>A model whose forward catches every exception around one layer (a pattern some user code has).</summary>
    private sealed class Swallowing : nn.Module<Tensor, Tensor>
    {
        private readonly nn.Module<Tensor, Tensor> lin1 = nn.Linear(2, 4);
        private readonly nn.Module<Tensor, Tensor> fc = nn.Linear(4, 2);

        public Swallowing() : base(nameof(Swallowing)) => RegisterComponents();

        public override Tensor forward(Tensor x)
        {
            Tensor h;
            try
            {
                h = lin1.call(x);
            }
            catch (Exception)
            {
                h = torch.zeros(x.shape[0], 4);
            }
            return fc.call(h);
        }
    }

    [Fact]
    public void A_forward_that_swallows_the_partner_pass_stop_is_detected_not_silently_mixed_wrong()
    {
        using var model = new Swallowing();
        var pass = new MixedForwardPass(model, ["lin1"], new Random(0));
        using var scope = NewDisposeScope();
        var x = torch.randn(3, 2);
        var ex = Assert.Throws<InvalidOperationException>(() => pass.Run(x, torch.randn(3, 2), torch.full(3, 0.5f)));
        Assert.Contains("caught the exception", ex.Message);
        Assert.Contains("'lin1'", ex.Message);
    }

    [Fact]
    public void Mixing_weights_outside_the_unit_interval_or_not_finite_are_rejected()
    {
        using var model = nn.Sequential(("lin1", nn.Linear(2, 4)), ("fc", nn.Linear(4, 2)));
        var pass = new MixedForwardPass(model, ["input", "lin1"], new Random(0));
        using var scope = NewDisposeScope();
        var x = torch.randn(3, 2);
        foreach (var bad in new[] { 1.5f, -0.1f, float.NaN })
        {
            var ex = Assert.Throws<ArgumentOutOfRangeException>(() => pass.Run(x, torch.randn(3, 2), torch.tensor(new[] { 0.5f, bad, 0.5f })));
            Assert.Equal("coefficients", ex.ParamName);
            Assert.Contains("row 1", ex.Message);
        }
        Assert.Throws<ArgumentException>(() => pass.Run(x, torch.randn(3, 2), torch.tensor(new long[] { 0, 1, 1 })));
    }
}
