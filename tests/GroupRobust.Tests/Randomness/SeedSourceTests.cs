using GroupRobust.Randomness;
using GroupRobust.Tests.TestSupport;
using TorchSharp;

namespace GroupRobust.Tests.Randomness;

/// <remarks>Runs alone: one test reseeds and draws from torch's global generator, which tests running in parallel also draw from.</remarks>
[Collection(LeakCollection.Name)]
public class SeedSourceTests
{
    [Fact]
    public void Named_streams_are_stable_and_independent()
    {
        var s = new SeedSource(42);
        Assert.Equal(s.Derive("shuffle"), new SeedSource(42).Derive("shuffle"));
        Assert.NotEqual(s.Derive("shuffle"), s.Derive("mixing"));
        Assert.NotEqual(s.Derive("shuffle"), new SeedSource(43).Derive("shuffle"));
        Assert.Equal(s.Random("x").Next(), s.Random("x").Next());
    }

    [Fact]
    public void SeedTorch_makes_torch_draws_repeat()
    {
        var s = new SeedSource(5);
        s.SeedTorch();
        using var a = torch.rand(8);
        s.SeedTorch();
        using var b = torch.rand(8);
        Assert.True(a.allclose(b, 0, 0));
    }

    [Fact]
    public void Generators_repeat_for_the_same_stream()
    {
        var s = new SeedSource(9);
        using var g1 = s.Generator("init");
        using var g2 = s.Generator("init");
        using var a = torch.rand(6, generator: g1);
        using var b = torch.rand(6, generator: g2);
        Assert.True(a.allclose(b, 0, 0));
    }
}
