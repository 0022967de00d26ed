using TorchSharp;
using static TorchSharp.torch;

namespace GroupRobust.Tests.TestSupport;

/// <summary>Modules and tensors drawn from their own <see cref="torch.Generator"/>, never from the global one (tests run in parallel and reseed it).</summary>
internal static class Seeded
{
    /// <summary>Overwrites every parameter of <paramref name="module"/> with N(0, scale^2) draws of a generator seeded by <paramref name="seed"/>.</summary>
    public static T Init<T>(T module, int seed, double scale = 0.4) where T : nn.Module
    {
        using var generator = new torch.Generator((ulong)seed);
        using var noGrad = torch.no_grad();
        foreach (var p in module.parameters())
        {
            using var init = torch.randn(p.shape, generator: generator).mul_(scale);
            p.copy_(init);
        }
        return module;
    }

    /// <summary>A standard normal tensor of <paramref name="shape"/> from a generator seeded by <paramref name="seed"/>.</summary>
    public static Tensor Normal(long[] shape, int seed, ScalarType dtype = ScalarType.Float32)
    {
        using var generator = new torch.Generator((ulong)seed);
        return torch.randn(shape, dtype: dtype, generator: generator);
    }
}
