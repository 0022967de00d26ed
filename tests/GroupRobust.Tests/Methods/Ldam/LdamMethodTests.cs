using GroupRobust.Data;
using GroupRobust.Groups;
using GroupRobust.Methods;
using GroupRobust.Randomness;
using GroupRobust.Tests.TestSupport;
using TorchSharp;
using static TorchSharp.torch;

namespace GroupRobust.Tests.Methods.Ldam;

public class LdamMethodTests
{
    [Fact]
    public void Margins_scale_as_the_inverse_fourth_root_of_the_class_size_and_the_smallest_class_gets_the_largest()
    {
        var m = LdamMethod.ClassMargins([81, 16, 1], 0.5);
        Assert.Equal(0.5, m[2], 12);
        Assert.Equal(0.5 / 3, m[0], 12);
        Assert.Equal(0.5 / 2, m[1], 12);
        Assert.Equal(0, LdamMethod.ClassMargins([4, 0], 0.5)[1]);
    }

    [Fact]
    public void The_loss_is_the_cross_entropy_of_the_scaled_logits_with_the_true_class_lowered_by_its_margin()
    {
        using var scope = NewDisposeScope();
        int[] labels = [0, 0, 0, 1, 2, 2, 0, 0];
        using var data = Tiny.Dataset(labels, null, new GroupScheme(3, 1));
        using var method = new LdamMethod(data, new SeedSource(0), new LdamOptions { MaxMargin = 0.4, Scale = 5 });
        using var model = Tiny.Network(3, 3, 2);
        method.BeginEpoch(1, 1);
        foreach (var batch in data.Batches(Enumerable.Range(0, 8).Select(i => (long)i), 8))
        {
            var z = model.call(batch.Inputs).data<float>().ToArray();
            double expected = 0;
            for (int i = 0; i < labels.Length; i++)
            {
                var row = Enumerable.Range(0, 3).Select(c => 5 * (z[i * 3 + c] - (c == labels[i] ? method.Margins[c] : 0))).ToArray();
                expected += Math.Log(row.Sum(Math.Exp)) - row[labels[i]];
            }
            Assert.Equal(expected / labels.Length, method.Loss(model, batch).item<float>(), 4);
        }
        Assert.Equal(0.4, method.Margins.Max(), 12);
        Assert.Equal(LabelBudget.None, method.LabelBudget);
    }

    [Fact]
    public void Without_a_margin_and_at_scale_one_the_loss_is_the_cross_entropy()
    {
        using var scope = NewDisposeScope();
        int[] labels = [0, 0, 0, 1, 2, 2, 0, 0];
        using var data = Tiny.Dataset(labels, null, new GroupScheme(3, 1));
        using var method = new LdamMethod(data, new SeedSource(0), new LdamOptions { MaxMargin = 0, Scale = 1 });
        using var model = Tiny.Network(3, 3, 2);
        Assert.All(method.Margins, m => Assert.Equal(0, m));
        method.BeginEpoch(1, 1);
        foreach (var batch in data.Batches(Enumerable.Range(0, 8).Select(i => (long)i), 8))
            Assert.Equal(nn.functional.cross_entropy(model.call(batch.Inputs), batch.Labels).item<float>(), method.Loss(model, batch).item<float>(), 6);
        Assert.Equal("LDAM (m=0, s=1)", method.Name);
    }

    [Theory]
    [InlineData(-0.1, 30.0, "MaxMargin")]
    [InlineData(double.NaN, 30.0, "MaxMargin")]
    [InlineData(0.5, 0.0, "Scale")]
    [InlineData(0.5, -1.0, "Scale")]
    [InlineData(0.5, double.PositiveInfinity, "Scale")]
    public void A_negative_margin_or_a_scale_that_is_not_a_finite_positive_number_is_refused(double margin, double scale, string named)
    {
        var (data, _) = Tiny.TwoClassesWithErrorSet(20);
        using (data)
        {
            var ex = Assert.Throws<ArgumentOutOfRangeException>(() => new LdamMethod(data, new SeedSource(0), new LdamOptions { MaxMargin = margin, Scale = scale }));
            Assert.Equal("options", ex.ParamName);
            Assert.Contains(named, ex.Message);
        }
    }
}
