using GroupRobust.Data;
using GroupRobust.Methods;
using GroupRobust.Randomness;
using GroupRobust.Tests.TestSupport;
using TorchSharp;
using static TorchSharp.torch;

namespace GroupRobust.Tests.Methods.Focal;

public class FocalMethodTests
{
    [Fact]
    public void Gamma_zero_is_erm_and_a_positive_gamma_weighs_each_sample_by_one_minus_its_probability()
    {
        using var scope = NewDisposeScope();
        var (data, _) = Tiny.TwoClassesWithErrorSet(20);
        using (data)
        {
            using var model = Tiny.Network(3, 2, 3);
            using var erm = new ErmMethod(data, new SeedSource(0));
            using var zero = new FocalMethod(data, new SeedSource(0), new FocalOptions { Gamma = 0 });
            using var two = new FocalMethod(data, new SeedSource(0), new FocalOptions { Gamma = 2 });
            foreach (var m in new ITrainingMethod[] { erm, zero, two }) m.BeginEpoch(1, 1);
            foreach (var batch in data.Batches(Enumerable.Range(0, 20).Select(i => (long)i), 20))
            {
                Assert.Equal(erm.Loss(model, batch).item<float>(), zero.Loss(model, batch).item<float>(), 6);
                var ce = nn.functional.cross_entropy(model.call(batch.Inputs), batch.Labels, reduction: nn.Reduction.None).data<float>().ToArray();
                double expected = ce.Select(l => Math.Pow(1 - Math.Exp(-l), 2) * l).Average();
                Assert.Equal(expected, two.Loss(model, batch).item<float>(), 5);
            }
        }
    }

    [Theory]
    [InlineData(-1.0)]
    [InlineData(double.NaN)]
    [InlineData(double.PositiveInfinity)]
    public void A_negative_or_non_finite_gamma_is_refused(double gamma)
    {
        var (data, _) = Tiny.TwoClassesWithErrorSet(20);
        using (data)
        {
            var ex = Assert.Throws<ArgumentOutOfRangeException>(() => new FocalMethod(data, new SeedSource(0), new FocalOptions { Gamma = gamma }));
            Assert.Equal("options", ex.ParamName);
            Assert.Contains("Gamma", ex.Message);
        }
    }
}
