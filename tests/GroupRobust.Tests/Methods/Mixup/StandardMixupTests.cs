using GroupRobust.Mixing;
using GroupRobust.Randomness;
using TorchSharp;
using static TorchSharp.torch;
using GroupRobust.Methods;

namespace GroupRobust.Tests.Methods;

public class StandardMixupTests
{
    [Fact]
    public void Mix_and_loss_follow_zhang_et_al()
    {
        using var scope = NewDisposeScope();
        var draw = new MixupDraw([2, 0, 1], 0.25);
        var x = torch.tensor(new float[] { 0, 10, 20 }).unsqueeze(1);
        var mixed = StandardMixup.Mix(x, draw);
        Assert.Equal(new[] { 15f, 2.5f, 12.5f }, mixed.squeeze(1).data<float>().ToArray());
        var logits = torch.randn(3, 2);
        var y = torch.tensor(new long[] { 0, 1, 1 });
        var expected = 0.25 * nn.functional.cross_entropy(logits, y).item<float>()
                       + 0.75 * nn.functional.cross_entropy(logits, torch.tensor(new long[] { 1, 0, 1 })).item<float>();
        Assert.Equal(expected, StandardMixup.Loss(logits, y, draw).item<float>(), 1e-5);
    }

    [Fact]
    public void Draws_are_permutations_and_lambda_follows_beta()
    {
        var m = new StandardMixup(1.0, new ReproducibleRandom(3));
        var lams = new List<double>();
        for (int i = 0; i < 2000; i++)
        {
            var d = m.Draw(6);
            Assert.Equal(new long[] { 0, 1, 2, 3, 4, 5 }, d.Permutation.Order());
            lams.Add(d.Lambda);
        }
        Assert.Equal(0.5, lams.Average(), 0.02);
        Assert.Equal(1.0, new StandardMixup(0, new Random(0)).Draw(3).Lambda);
    }
}
