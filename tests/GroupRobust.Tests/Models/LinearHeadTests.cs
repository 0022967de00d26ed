using GroupRobust.Methods;
using GroupRobust.Models;
using GroupRobust.Recipes;
using GroupRobust.Tests.Methods;
using GroupRobust.Tests.TestSupport;
using TorchSharp;
using static TorchSharp.torch;

namespace GroupRobust.Tests.Models;

public class LinearHeadTests
{
    private static TorchSharp.Modules.Linear Fc(nn.Module model)
        => (TorchSharp.Modules.Linear)model.named_modules().First(m => m.name == "fc").module;

    private static float[] Values(Tensor t) => t.detach().to(ScalarType.Float32).contiguous().data<float>().ToArray();

    [Fact]
    public void Read_returns_the_final_linear_and_Load_writes_it_back_exactly()
    {
        using var source = MethodFactory.Model(3);
        var head = LinearHead.Read(source);
        Assert.Equal(2, head.Classes);
        Assert.Equal(16, head.Features);
        var fc = Fc(source);
        var w = Values(fc.weight!);
        for (int c = 0; c < 2; c++)
            for (int j = 0; j < 16; j++)
                Assert.Equal(w[c * 16 + j], head.Weight[c, j]);   // row c is class c's logit
        Assert.Equal(Values(fc.bias!).Select(v => (double)v), head.Bias);

        using var target = MethodFactory.Model(4);
        var lin1Before = Values(((TorchSharp.Modules.Linear)target.named_modules().First(m => m.name == "lin1").module).weight!);
        head.Load(target);
        Assert.Equal(Values(fc.weight!), Values(Fc(target).weight!));
        Assert.Equal(Values(fc.bias!), Values(Fc(target).bias!));
        var back = LinearHead.Read(target);
        Assert.Equal(head.Weight.Cast<double>(), back.Weight.Cast<double>());
        Assert.Equal(head.Bias, back.Bias);
        // only the classifier changed, and its parameters still train
        Assert.Equal(lin1Before, Values(((TorchSharp.Modules.Linear)target.named_modules().First(m => m.name == "lin1").module).weight!));
        Assert.True(Fc(target).weight!.requires_grad);
        Assert.True(Fc(target).bias!.requires_grad);
        // a classifier named explicitly: lin1 is [16, 2]
        var first = LinearHead.Read(source, "lin1");
        Assert.Equal((16, 2), (first.Classes, first.Features));
    }

    [Fact]
    public void Loading_a_head_makes_the_models_logits_the_heads_logits_of_its_features()
    {
        using var data = MethodFactory.Data(100);
        using var model = new FeatureExtractorTests.Mlp(5);
        model.eval();
        var rng = new Random(7);
        var weight = new double[2, 16];
        for (int c = 0; c < 2; c++)
            for (int j = 0; j < 16; j++) weight[c, j] = rng.NextDouble() * 4 - 2;
        var head = new LinearHead { Weight = weight, Bias = [0.75, -1.25] };
        using var features = FeatureExtractor.Extract(model, data.Validation);
        using var scope = NewDisposeScope();
        using var all = data.Validation.GetBatch([.. Enumerable.Range(0, 100).Select(i => (long)i)]);
        Tensor before;
        using (torch.no_grad()) before = model.call(all.Inputs);
        head.Load(model);
        Tensor after;
        using (torch.no_grad()) after = model.call(all.Inputs);
        var expected = head.Logits(features.Inputs);
        Assert.True(after.allclose(expected, rtol: 0, atol: 1e-4), "model logits differ from head.Logits(features)");
        Assert.False(after.allclose(before, rtol: 0, atol: 1e-2), "loading the head did not change the logits");
        // the features did not change: only the last layer was replaced
        using var again = FeatureExtractor.Extract(model, data.Validation);
        Assert.Equal(Values(features.Inputs), Values(again.Inputs));
        // Logits keeps the features' dtype
        using var x64 = features.Inputs.to(ScalarType.Float64);
        Assert.Equal(ScalarType.Float64, head.Logits(x64).dtype);
        Assert.True(head.Logits(x64).to(ScalarType.Float32).allclose(expected, rtol: 0, atol: 1e-5));
    }

    [Fact]
    public void The_default_classifier_is_the_final_linear_of_nested_models()
    {
        // TorchSharp's named_modules() lists every child before any grandchild; the final layer must still win
        using var hiddenNested = Seeded.Init(nn.Sequential(("features", nn.Sequential(("lin1", nn.Linear(2, 16)), ("act", nn.ReLU()))), ("fc", nn.Linear(16, 3))), 1);
        var head = LinearHead.Read(hiddenNested);
        Assert.Equal((3, 16), (head.Classes, head.Features));
        using var headNested = Seeded.Init(nn.Sequential(("body", nn.Linear(2, 16)), ("head", nn.Sequential(("act", nn.ReLU()), ("fc", nn.Linear(16, 3))))), 2);
        var nested = LinearHead.Read(headNested);
        Assert.Equal((3, 16), (nested.Classes, nested.Features));
        var fc = (TorchSharp.Modules.Linear)headNested.named_modules().First(m => m.name == "head.fc").module;
        Assert.Equal(Values(fc.bias!).Select(v => (double)v), nested.Bias);
        // a bare Linear is its own final layer
        using var bare = Seeded.Init(nn.Linear(4, 2), 3);
        var own = LinearHead.Read(bare);
        Assert.Equal((2, 4), (own.Classes, own.Features));
        new LinearHead { Weight = new double[2, 4], Bias = [1, -1] }.Load(bare);
        Assert.Equal(new float[] { 1, -1 }, Values(bare.bias!));
    }

    [Fact]
    public void Shapes_that_do_not_fit_are_rejected()
    {
        using var model = MethodFactory.Model(0);
        var wrongClasses = new LinearHead { Weight = new double[3, 16], Bias = new double[3] };
        var ex = Assert.Throws<ArgumentException>(() => wrongClasses.Load(model));
        Assert.Equal("model", ex.ParamName);
        Assert.Contains("[3, 16]", ex.Message);
        var wrongFeatures = new LinearHead { Weight = new double[2, 8], Bias = new double[2] };
        Assert.Throws<ArgumentException>(() => wrongFeatures.Load(model));
        var before = Values(Fc(model).weight!);
        Assert.Equal(before, Values(Fc(model).weight!));   // nothing was written

        using var noBias = nn.Sequential(("lin1", nn.Linear(2, 16)), ("fc", nn.Linear(16, 2, hasBias: false)));
        Assert.Equal("model", Assert.Throws<ArgumentException>(() => LinearHead.Read(noBias)).ParamName);
        Assert.Equal("model", Assert.Throws<ArgumentException>(() => new LinearHead { Weight = new double[2, 16], Bias = new double[2] }.Load(noBias)).ParamName);
        Assert.Equal("classifierName", Assert.Throws<ArgumentException>(() => LinearHead.Read(model, "act")).ParamName);

        using var w = torch.zeros(2, 3);
        using var b3 = torch.zeros(3);
        using var b2x1 = torch.zeros(2, 1);
        using var w1 = torch.zeros(6);
        Assert.Throws<ArgumentException>(() => LinearHead.FromTensors(w, b3));
        Assert.Throws<ArgumentException>(() => LinearHead.FromTensors(w, b2x1));
        Assert.Throws<ArgumentException>(() => LinearHead.FromTensors(w1, b3));
    }

    [Fact]
    public void FromTensors_reads_strided_tensors_in_logical_order()
    {
        // a transposed (non-contiguous) weight must be read row by row of the logical [C, D] layout
        using var scope = NewDisposeScope();
        var stored = torch.arange(6, ScalarType.Float64).view(3, 2);   // [[0, 1], [2, 3], [4, 5]]
        var weight = stored.t();                                         // [[0, 2, 4], [1, 3, 5]], not contiguous
        Assert.False(weight.is_contiguous());
        var head = LinearHead.FromTensors(weight, torch.tensor(new[] { 1.0, 2.0 }));
        Assert.Equal(new double[,] { { 0, 2, 4 }, { 1, 3, 5 } }, head.Weight);
        var head32 = LinearHead.FromTensors(stored.to(ScalarType.Float32).t(), torch.tensor(new[] { 1f, 2f }));
        Assert.Equal(new double[,] { { 0, 2, 4 }, { 1, 3, 5 } }, head32.Weight);
        Assert.Equal(new[] { 1.0, 2.0 }, head32.Bias);
        var x = torch.tensor(new[] { 1.0, 1, 1 }, [1, 3]);
        Assert.Equal(new[] { 7.0, 11.0 }, head.Logits(x).data<double>().ToArray());
    }
}
