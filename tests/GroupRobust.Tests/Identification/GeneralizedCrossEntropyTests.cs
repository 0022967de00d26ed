using GroupRobust.Identification;
using GroupRobust.Tests.TestSupport;
using TorchSharp;
using static TorchSharp.torch;

namespace GroupRobust.Tests.Identification;

public class GeneralizedCrossEntropyTests
{
    private static readonly double[,] Logits2x3 = { { 1.0, 2.0, 3.0 }, { 0.5, -1.0, 0.0 } };
    private static readonly long[] Labels2 = [0, 2];

    private static Tensor Logits(ScalarType dtype = ScalarType.Float64)
        => torch.tensor(new[] { 1.0, 2.0, 3.0, 0.5, -1.0, 0.0 }, [2, 3]).to(dtype);

    /// <summary>p_y of each row of <see cref="Logits2x3"/>, by hand in double precision.</summary>
    private static double[] HandProbabilities()
    {
        var p = new double[2];
        for (int i = 0; i < 2; i++)
        {
            double z = 0;
            for (int k = 0; k < 3; k++) z += Math.Exp(Logits2x3[i, k]);
            p[i] = Math.Exp(Logits2x3[i, Labels2[i]]) / z;
        }
        return p;
    }

    [Theory]
    [InlineData(0.7)]
    [InlineData(0.3)]
    [InlineData(1.0)]
    public void Surrogate_gradient_is_q_times_the_exact_gradient(double q)
    {
        using var scope = NewDisposeScope();
        using var generator = new torch.Generator(11);
        var init = torch.randn([16, 4], ScalarType.Float64, generator: generator).mul_(2);
        var labels = torch.randint(0, 4, [16], ScalarType.Int64, generator: generator);
        var zSurrogate = init.clone().requires_grad_(true);
        var zExact = init.clone().requires_grad_(true);
        GeneralizedCrossEntropy.PerSample(zSurrogate, labels, q).sum().backward();
        GeneralizedCrossEntropy.PerSample(zExact, labels, q, exact: true).sum().backward();
        var gSurrogate = zSurrogate.grad!.data<double>().ToArray();
        var gExact = zExact.grad!.data<double>().ToArray();
        Assert.Contains(gExact, g => Math.Abs(g) > 1e-3);   // a real gradient, not all zeros
        for (int i = 0; i < gExact.Length; i++) Assert.Equal(q * gExact[i], gSurrogate[i], 12);
        // and the exact GCE's gradient is p_y^q times the cross-entropy gradient
        var zCe = init.clone().requires_grad_(true);
        var pq = nn.functional.softmax(init, 1).gather(1, labels.unsqueeze(1)).squeeze(1).pow(q);
        (nn.functional.cross_entropy(zCe, labels, reduction: nn.Reduction.None) * pq).sum().backward();
        var gCe = zCe.grad!.data<double>().ToArray();
        for (int i = 0; i < gExact.Length; i++) Assert.Equal(gCe[i], gExact[i], 12);
    }

    [Fact]
    public void Values_match_a_hand_computation()
    {
        using var scope = NewDisposeScope();
        const double q = 0.7;
        var p = HandProbabilities();
        // exact: (1 - p^q) / q; surrogate: -log p * q * p^q
        var exact = GeneralizedCrossEntropy.PerSample(Logits(), Tiny.Longs(Labels2), q, exact: true).data<double>().ToArray();
        var surrogate = GeneralizedCrossEntropy.PerSample(Logits(), Tiny.Longs(Labels2), q).data<double>().ToArray();
        Assert.Equal(2, exact.Length);
        for (int i = 0; i < 2; i++)
        {
            Assert.Equal((1 - Math.Pow(p[i], q)) / q, exact[i], 12);
            Assert.Equal(-Math.Log(p[i]) * q * Math.Pow(p[i], q), surrogate[i], 12);
        }
        // Row 0: p_0 = e / (e + e^2 + e^3) = 0.0900306, row 1: p_2 = 1 / (e^0.5 + e^-1 + 1) = 0.3314990 (numbers written
        // out, computed independently, so a mistake in the hand formula above cannot cancel one in the library).
        Assert.Equal(0.0900306, p[0], 1e-6);
        Assert.Equal(0.3314990, p[1], 1e-6);
        Assert.Equal(1.1637367, exact[0], 1e-6);
        Assert.Equal(0.7690340, exact[1], 1e-6);
        Assert.Equal(0.3124327, surrogate[0], 1e-6);
        Assert.Equal(0.3568256, surrogate[1], 1e-6);
        // q = 1 is the MAE on p_y; q -> 0 approaches the cross entropy
        var mae = GeneralizedCrossEntropy.PerSample(Logits(), Tiny.Longs(Labels2), 1.0, exact: true).data<double>().ToArray();
        Assert.Equal(1 - p[0], mae[0], 12);
        Assert.Equal(1 - p[1], mae[1], 12);
        var nearCe = GeneralizedCrossEntropy.PerSample(Logits(), Tiny.Longs(Labels2), 1e-6, exact: true).data<double>().ToArray();
        Assert.Equal(-Math.Log(p[0]), nearCe[0], 1e-4);
        Assert.Equal(-Math.Log(p[1]), nearCe[1], 1e-4);
    }

    [Theory]
    [InlineData(ScalarType.Float64, ScalarType.Float64)]
    [InlineData(ScalarType.Float32, ScalarType.Float32)]
    [InlineData(ScalarType.Float16, ScalarType.Float32)]
    [InlineData(ScalarType.BFloat16, ScalarType.Float32)]
    public void Output_dtype_is_float64_for_float64_logits_and_float32_otherwise(ScalarType input, ScalarType expected)
    {
        using var scope = NewDisposeScope();
        foreach (bool exact in new[] { false, true })
        {
            var loss = GeneralizedCrossEntropy.PerSample(Logits(input), Tiny.Longs(Labels2), 0.7, exact);
            Assert.Equal(expected, loss.dtype);
            Assert.Equal(new long[] { 2 }, loss.shape);
        }
        // float64 keeps its precision: the value agrees with the hand computation far below float32 resolution
        var p = HandProbabilities();
        var v = GeneralizedCrossEntropy.PerSample(Logits(), Tiny.Longs(Labels2), 0.7, exact: true).data<double>()[0];
        Assert.Equal((1 - Math.Pow(p[0], 0.7)) / 0.7, v, 14);
    }

    [Fact]
    public void Int32_labels_are_accepted()
    {
        using var scope = NewDisposeScope();
        var a = GeneralizedCrossEntropy.PerSample(Logits(), Tiny.Longs(Labels2).to(ScalarType.Int32)).data<double>().ToArray();
        var b = GeneralizedCrossEntropy.PerSample(Logits(), Tiny.Longs(Labels2)).data<double>().ToArray();
        Assert.Equal(b, a);
    }

    [Theory]
    [InlineData(0.0)]
    [InlineData(-0.5)]
    [InlineData(1.0000001)]
    [InlineData(2.0)]
    [InlineData(double.NaN)]
    [InlineData(double.PositiveInfinity)]
    public void Q_outside_the_unit_interval_is_rejected_at_the_door(double q)
    {
        // the loss is internal: LfF's options and the biased identifier's are where q enters, and where it is checked
        using var data = GroupRobust.Tests.Methods.MethodFactory.Data(50);
        var ex = Assert.Throws<ArgumentOutOfRangeException>(() => new GroupRobust.Methods.LffMethod(data.Train, new GroupRobust.Randomness.SeedSource(0), new GroupRobust.Methods.LffOptions { Q = q }));
        Assert.Equal("Q", ex.ParamName);
        var biased = Assert.Throws<ArgumentOutOfRangeException>(() => new BiasedModelIdentifier(() => nn.Linear(2, 2), p => torch.optim.SGD(p, 0.1), new GroupRobust.Randomness.SeedSource(0), new BiasedModelOptions { Q = q }));
        Assert.Equal("Q", biased.ParamName);
    }
}
