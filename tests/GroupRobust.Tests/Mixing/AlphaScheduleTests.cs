using GroupRobust.Mixing;
using GroupRobust.Randomness;

namespace GroupRobust.Tests.Mixing;

public class AlphaScheduleTests
{
    [Fact]
    public void Beta_2_5_draws_have_the_right_mean_and_variance()
    {
        var rng = new ReproducibleRandom(1);
        var draws = AlphaSchedule.Beta(2, 5).Sample(1, 1, rng, 40_000);
        double mean = draws.Average();
        double var = draws.Select(d => (d - mean) * (d - mean)).Average();
        // exact: mean 2/7 = 0.2857, variance 10/392 = 0.02551; 40k draws give standard errors 0.0008 and 0.0002
        Assert.Equal(2.0 / 7, mean, 0.004);
        Assert.Equal(10.0 / 392, var, 0.0015);
        Assert.All(draws, d => Assert.InRange(d, 0.0, 1.0));
        Assert.Equal("Beta(2,5)", AlphaSchedule.Beta(2, 5).Name);
    }

    [Fact]
    public void Uniform_draws_are_uniform_on_the_interval()
    {
        var draws = AlphaSchedule.Uniform(0.2, 0.6).Sample(1, 1, new ReproducibleRandom(2), 20_000);
        Assert.All(draws, d => Assert.InRange(d, 0.2, 0.6));
        Assert.Equal(0.4, draws.Average(), 0.005);
        Assert.Equal("U(0,1)", AlphaSchedule.Uniform().Name);
    }

    [Fact]
    public void Coupled_schedule_switches_at_half_the_epochs()
    {
        var ub = (CoupledAlpha)AlphaSchedule.UniformThenBeta();
        Assert.Equal("U/B", ub.Name);
        Assert.Equal(6, ub.SwitchEpoch(10));   // epochs 1-5 uniform, 6-10 Beta(2, 5)
        Assert.Equal(3, ub.SwitchEpoch(5));
        for (int e = 1; e <= 10; e++)
            Assert.IsType(e <= 5 ? typeof(UniformAlpha) : typeof(BetaAlpha), ub.At(e, 10));
        Assert.Equal(0.5, ub.Mean(5, 10));
        Assert.Equal(2.0 / 7, ub.Mean(6, 10), 12);
        var late = ub.Sample(10, 10, new ReproducibleRandom(3), 20_000).Average();
        var early = ub.Sample(1, 10, new ReproducibleRandom(3), 20_000).Average();
        Assert.Equal(2.0 / 7, late, 0.01);
        Assert.Equal(0.5, early, 0.01);
        var custom = AlphaSchedule.Coupled(AlphaSchedule.Constant(0.1), AlphaSchedule.Constant(0.9), 0.3);
        Assert.Equal(new[] { 0.1, 0.1, 0.1, 0.9 }, Enumerable.Range(1, 4).Select(e => custom.Sample(e, 10, new Random(0))).ToArray());   // switch after 3 of 10
    }

    [Fact]
    public void Same_seed_same_draws()
    {
        var s = AlphaSchedule.UniformThenBeta();
        Assert.Equal(s.Sample(7, 10, new ReproducibleRandom(4), 10), s.Sample(7, 10, new ReproducibleRandom(4), 10));
    }

    [Fact]
    public void Bad_parameters_are_rejected()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => AlphaSchedule.Beta(0, 5));
        Assert.Throws<ArgumentOutOfRangeException>(() => AlphaSchedule.Beta(2, double.PositiveInfinity));
        Assert.Throws<ArgumentOutOfRangeException>(() => AlphaSchedule.Uniform(0.5, 0.4));
        Assert.Throws<ArgumentOutOfRangeException>(() => AlphaSchedule.Constant(1.5));
        Assert.Throws<ArgumentOutOfRangeException>(() => AlphaSchedule.Coupled(AlphaSchedule.Uniform(), AlphaSchedule.Uniform(), 2));
        var ex = Assert.Throws<ArgumentOutOfRangeException>(() => AlphaSchedule.Uniform().Sample(11, 10, new Random(0)));
        Assert.Contains("[1, 10]", ex.Message);
        Assert.Throws<ArgumentOutOfRangeException>(() => AlphaSchedule.Uniform().Sample(0, 10, new Random(0)));
    }
}
