using GroupRobust.Data;
using GroupRobust.Groups;
using GroupRobust.Methods;
using GroupRobust.Randomness;
using GroupRobust.Tests.TestSupport;
using TorchSharp;
using static TorchSharp.torch;

namespace GroupRobust.Tests.Methods.BalancedSoftmax;

public class BalancedSoftmaxMethodTests
{
    [Theory]
    [InlineData(1.0)]   // the balanced softmax
    [InlineData(2.0)]
    public void The_loss_is_the_cross_entropy_of_the_logits_shifted_by_tau_times_the_log_class_sizes(double tau)
    {
        using var scope = NewDisposeScope();
        int[] labels = [0, 0, 0, 0, 0, 1, 1, 2];
        using var data = Tiny.Dataset(labels, null, new GroupScheme(3, 1));
        using var method = new BalancedSoftmaxMethod(data, new SeedSource(0), new BalancedSoftmaxOptions { Tau = tau });
        using var model = Tiny.Network(3, 3, 4);
        Assert.Equal([5L, 2L, 1L], method.ClassCounts);
        method.BeginEpoch(1, 1);
        foreach (var batch in data.Batches(Enumerable.Range(0, 8).Select(i => (long)i), 8))
        {
            var z = model.call(batch.Inputs).data<float>().ToArray();
            double expected = 0;
            for (int i = 0; i < labels.Length; i++)
            {
                var row = Enumerable.Range(0, 3).Select(c => z[i * 3 + c] + tau * Math.Log(method.ClassCounts[c])).ToArray();
                expected += Math.Log(row.Sum(Math.Exp)) - row[labels[i]];
            }
            Assert.Equal(expected / labels.Length, method.Loss(model, batch).item<float>(), 4);
        }
    }

    [Fact]
    public void Tau_zero_is_the_cross_entropy_the_name_says_tau_and_a_negative_or_non_finite_tau_is_refused()
    {
        using var scope = NewDisposeScope();
        using var data = Tiny.Dataset([0, 0, 0, 0, 0, 1, 1, 2], null, new GroupScheme(3, 1));
        using var erm = new ErmMethod(data, new SeedSource(0));
        using var zero = new BalancedSoftmaxMethod(data, new SeedSource(0), new BalancedSoftmaxOptions { Tau = 0 });
        using var two = new BalancedSoftmaxMethod(data, new SeedSource(0), new BalancedSoftmaxOptions { Tau = 2 });
        using var model = Tiny.Network(3, 3, 4);
        foreach (var m in new ITrainingMethod[] { erm, zero }) m.BeginEpoch(1, 1);
        foreach (var batch in data.Batches(Enumerable.Range(0, 8).Select(i => (long)i), 8))
            Assert.Equal(erm.Loss(model, batch).item<float>(), zero.Loss(model, batch).item<float>(), 6);
        Assert.Equal(["Balanced softmax (τ=0)", "Balanced softmax (τ=2)"], new[] { zero.Name, two.Name });
        foreach (var tau in new[] { -0.5, double.NaN, double.PositiveInfinity })
        {
            var ex = Assert.Throws<ArgumentOutOfRangeException>(() => new BalancedSoftmaxMethod(data, new SeedSource(0), new BalancedSoftmaxOptions { Tau = tau }));
            Assert.Equal("options", ex.ParamName);
            Assert.Contains("Tau", ex.Message);
        }
    }

    [Fact]
    public void A_class_without_training_samples_gets_no_probability_and_the_loss_and_gradients_stay_finite()
    {
        using var scope = NewDisposeScope();
        using var data = Tiny.Dataset([0, 1, 0, 1, 0, 1], null, new GroupScheme(3, 1));   // class 2 is empty
        using var method = new BalancedSoftmaxMethod(data, new SeedSource(0));
        using var model = Tiny.Network(3, 3, 5);
        method.BeginEpoch(1, 1);
        foreach (var batch in data.Batches(Enumerable.Range(0, 6).Select(i => (long)i), 6))
        {
            var loss = method.Loss(model, batch);
            Assert.True(float.IsFinite(loss.item<float>()));
            loss.backward();
        }
        Assert.All(model.parameters(), p => Assert.True(p.grad!.isfinite().all().item<bool>()));

        // at tau = 0 nothing is shifted, the empty class included (0 times log 0 would be NaN): the cross-entropy, as ERM
        using var off = new BalancedSoftmaxMethod(data, new SeedSource(0), new BalancedSoftmaxOptions { Tau = 0 });
        using var erm = new ErmMethod(data, new SeedSource(0));
        off.BeginEpoch(1, 1);
        erm.BeginEpoch(1, 1);
        foreach (var batch in data.Batches(Enumerable.Range(0, 6).Select(i => (long)i), 6))
            Assert.Equal(erm.Loss(model, batch).item<float>(), off.Loss(model, batch).item<float>(), 6);
    }
}
