using GroupRobust.Methods;
using TorchSharp;
using static TorchSharp.torch;

namespace GroupRobust.Tests.Methods;

public class CvarDroLossTests
{
    [Fact]
    public void Mean_of_the_top_ceil_alpha_b_losses()
    {
        using var scope = NewDisposeScope();
        var losses = torch.tensor(new[] { 1.0, 5.0, 3.0, 2.0, 4.0 }, requires_grad: true);
        var cvar = CvarDroLoss.Compute(losses, 0.3);   // ceil(1.5) = 2 -> (5 + 4) / 2
        Assert.Equal(4.5, cvar.item<double>(), 12);
        cvar.backward();
        Assert.Equal(new[] { 0, 0.5, 0, 0, 0.5 }, losses.grad!.data<double>().ToArray());
        Assert.Equal(3.0, CvarDroLoss.Compute(losses, 1.0).item<double>(), 12);
        Assert.Equal(5.0, CvarDroLoss.Compute(losses, 0.01).item<double>(), 12);
    }
}
