using GroupRobust.Models;
using GroupRobust.Tests.TestSupport;
using TorchSharp;
using static TorchSharp.torch;

namespace GroupRobust.Tests.Models;

public class PenultimateTests
{
    /// <summary>A network whose forward runs its final layer with forward(), not call(): hooks never fire.</summary>
    private sealed class DirectHead : nn.Module<Tensor, Tensor>
    {
        private readonly TorchSharp.Modules.Linear body = nn.Linear(3, 4);
        private readonly TorchSharp.Modules.Linear fc = nn.Linear(4, 2);

        public DirectHead() : base(nameof(DirectHead)) => RegisterComponents();

        public override Tensor forward(Tensor input) => fc.forward(body.call(input).relu());
    }

    [Fact]
    public void The_hooked_representation_is_the_final_layers_input_with_its_gradient_and_the_hook_is_removed()
    {
        using var scope = NewDisposeScope();
        using var model = Tiny.Network(3, 2, 12);
        var x = torch.randn(5, 3);
        var (features, logits) = Penultimate.Forward(model, x, "model");
        var lin1 = (TorchSharp.Modules.Linear)model.named_modules().First(m => m.name == "lin1").module;
        Assert.True(features.allclose(lin1.call(x).relu()));
        Assert.True(logits.allclose(model.call(x)));
        Assert.True(features.requires_grad);
        features.sum().backward();
        Assert.NotNull(lin1.weight!.grad);
        // a second call captures its own batch: the first call's hook is gone
        var (again, _) = Penultimate.Forward(model, x.narrow(0, 0, 2), "model");
        Assert.Equal(2, again.shape[0]);
    }

    [Fact]
    public void A_final_layer_run_without_call_is_named_with_the_way_out()
    {
        using var scope = NewDisposeScope();
        using var model = new DirectHead();
        var ex = Assert.Throws<ArgumentException>(() => Penultimate.Forward(model, torch.randn(2, 3), "model"));
        Assert.Equal("model", ex.ParamName);
        Assert.Contains("'fc'", ex.Message);
        Assert.Contains("IEncoderHead", ex.Message);
    }
}
