using TorchSharp;
using TorchSharp.Modules;

namespace GroupRobust.Internal;

/// <summary>
/// PyTorch's <c>nn.Linear</c> default initialisation drawn from a seeded generator instead of the global one:
/// <c>kaiming_uniform_</c> with a = sqrt(5) for the weight gives the bound 1 / sqrt(in_features), and the bias takes the
/// same bound; both uniform, the weight drawn first. Used where a reference builds a new head (SSA's attribute head,
/// SubpopBench's CRT stage 2), so that the same seed gives the same head on every device.
/// </summary>
internal static class SeededLinear
{
    /// <summary>Overwrites <paramref name="layer"/>'s weight and bias with the initialisation, in place, without recording gradients.</summary>
    public static void Initialize(Linear layer, torch.Generator generator)
    {
        using var _ = torch.no_grad();
        double bound = 1 / Math.Sqrt(layer.weight!.shape[1]);
        layer.weight.uniform_(-bound, bound, generator);
        layer.bias!.uniform_(-bound, bound, generator);
    }
}
