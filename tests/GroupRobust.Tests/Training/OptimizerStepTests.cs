using GroupRobust.Methods;
using GroupRobust.Randomness;
using GroupRobust.Tests.Methods;
using GroupRobust.Training;
using TorchSharp;
using static TorchSharp.torch;

namespace GroupRobust.Tests.Training;

public class OptimizerStepTests
{
    /// <summary>A 3 x 2 linear model, fixed weights, and a squared loss on 5 fixed rows.</summary>
    private static (nn.Module<Tensor, Tensor> Model, Tensor X, Tensor Y) Setup()
    {
        var model = nn.Linear(3, 2);
        using (torch.no_grad())
        {
            model.weight!.copy_(torch.tensor(new float[] { 0.5f, -0.2f, 0.1f, 0.3f, 0.8f, -0.6f }).reshape(2, 3));
            model.bias!.copy_(torch.tensor(new float[] { 0.05f, -0.1f }));
        }
        var x = torch.tensor(new float[] { 1, 2, 0, -1, 0.5f, 1, 0, 0, 2, 3, -1, 1, 0.2f, 0.4f, -0.3f }).reshape(5, 3);
        var y = torch.tensor(new float[] { 1, 0, 0, 1, 1, 1, 0, 0, -1, 2 }).reshape(5, 2);
        return (model, x, y);
    }

    private static Tensor Loss(nn.Module<Tensor, Tensor> m, Tensor x, Tensor y) => (m.call(x) - y).square().mean();

    /// <summary>The SAM update by hand: g at w, e = rho g / ||g|| (adaptive: rho w^2 g / ||w g||), g' at w + e, w - lr g'.</summary>
    private static float[] ByHand(double rho, bool adaptive, double lr)
    {
        var (m, x, y) = Setup();
        using var _ = m;
        var ps = m.parameters().ToArray();
        var g = torch.autograd.grad([Loss(m, x, y)], ps);
        var w = ps.Select(p => p.detach().clone()).ToArray();
        var norm = torch.stack(ps.Select((p, i) => (adaptive ? p.detach().abs() * g[i] : g[i]).norm()).ToArray()).norm();
        using (torch.no_grad())
            for (int i = 0; i < ps.Length; i++) ps[i].add_((adaptive ? w[i].square() * g[i] : g[i]) * (rho / (norm + 1e-12)));
        var g2 = torch.autograd.grad([Loss(m, x, y)], ps);
        return w.Zip(g2, (wi, gi) => wi - lr * gi).SelectMany(t => t.data<float>().ToArray()).ToArray();
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void Sam_takes_the_gradient_at_the_ascent_point_and_updates_the_original_weights(bool adaptive)
    {
        using var scope = NewDisposeScope();
        var (model, x, y) = Setup();
        using var _ = model;
        using var sgd = torch.optim.SGD(model.parameters(), 0.1);
        var step = OptimizerStep.Sam(0.05, adaptive);
        var first = step.Take(new StepContext(model, sgd, () => Loss(model, x, y), () => Loss(model, x, y)));
        var expected = ByHand(0.05, adaptive, 0.1);
        var actual = model.parameters().SelectMany(p => p.detach().data<float>().ToArray()).ToArray();
        for (int i = 0; i < expected.Length; i++) Assert.Equal(expected[i], actual[i], 1e-6);
        var (fresh, _, _) = Setup();
        using (fresh) Assert.Equal(Loss(fresh, x, y).item<float>(), first.item<float>(), 1e-6);   // the loss of the first evaluation
        Assert.Contains(adaptive ? "ASAM" : "SAM", step.Name);
    }

    [Fact]
    public void The_plain_step_is_backward_then_step_and_both_clip_when_asked()
    {
        using var scope = NewDisposeScope();
        var (a, x, y) = Setup();
        var (b, _, _) = Setup();
        using var _a = a;
        using var _b = b;
        using var sa = torch.optim.SGD(a.parameters(), 0.1);
        using var sb = torch.optim.SGD(b.parameters(), 0.1);
        OptimizerStep.Plain.Take(new StepContext(a, sa, () => Loss(a, x, y), () => Loss(a, x, y)) { MaxGradientNorm = 0.01 });
        sb.zero_grad();
        Loss(b, x, y).backward();
        nn.utils.clip_grad_norm_(b.parameters(), 0.01);
        sb.step();
        foreach (var (p, q) in a.parameters().Zip(b.parameters())) Assert.True(p.allclose(q, 1e-6, 1e-7));
        int hooks = 0;
        OptimizerStep.Sam().Take(new StepContext(a, sa, () => Loss(a, x, y), () => Loss(a, x, y)) { AfterBackward = () => hooks++ });
        Assert.Equal(2, hooks);   // after each of SAM's two backward passes (data-parallel averaging runs there)
    }

    [Fact]
    public void A_failing_second_evaluation_leaves_the_weights_as_they_were()
    {
        using var scope = NewDisposeScope();
        var (model, x, y) = Setup();
        using var _ = model;
        using var sgd = torch.optim.SGD(model.parameters(), 0.1);
        var before = model.parameters().Select(p => p.detach().clone()).ToArray();
        Assert.Throws<InvalidOperationException>(() => OptimizerStep.Sam().Take(new StepContext(model, sgd, () => Loss(model, x, y), () => throw new InvalidOperationException("boom"))));
        foreach (var (p, q) in model.parameters().Zip(before)) Assert.True(p.allclose(q, 0, 0));
        Assert.Equal("rho", Assert.Throws<ArgumentOutOfRangeException>(() => OptimizerStep.Sam(0)).ParamName);
        Assert.Equal("rho", Assert.Throws<ArgumentOutOfRangeException>(() => OptimizerStep.Sam(double.NaN)).ParamName);
    }

    [Fact]
    public void Sams_second_pass_leaves_batch_norm_running_statistics_as_the_first_pass_set_them()
    {
        using var scope = NewDisposeScope();
        nn.Module<Tensor, Tensor> Model()
        {
            var m = nn.Sequential(("lin", nn.Linear(3, 4)), ("bn", nn.BatchNorm1d(4, momentum: 0.3)), ("fc", nn.Linear(4, 2)));
            using var generator = new torch.Generator(7);
            using var noGrad = torch.no_grad();
            foreach (var p in m.parameters()) p.copy_(torch.randn(p.shape, generator: generator));
            return m;
        }
        var x = torch.randn(6, 3, generator: new torch.Generator(1));
        var y = torch.randn(6, 2, generator: new torch.Generator(2));
        using var sam = Model();
        using var reference = Model();
        sam.train();
        reference.train();
        using var sgd = torch.optim.SGD(sam.parameters(), 0.1);
        OptimizerStep.Sam(0.5).Take(new StepContext(sam, sgd, () => Loss(sam, x, y), () => Loss(sam, x, y)));
        using (torch.no_grad()) reference.call(x);   // one pass at the same starting weights
        var bn = (TorchSharp.Modules.BatchNorm1d)sam.named_children().Single(c => c.name == "bn").module;
        var expected = (TorchSharp.Modules.BatchNorm1d)reference.named_children().Single(c => c.name == "bn").module;
        Assert.True(bn.running_mean!.allclose(expected.running_mean!, 1e-6, 1e-7));
        Assert.True(bn.running_var!.allclose(expected.running_var!, 1e-6, 1e-7));
        Assert.Equal(0.3, bn.momentum);   // restored
    }

    [Fact]
    public void A_step_context_names_what_is_missing_or_out_of_range()
    {
        using var model = nn.Linear(2, 2);
        using var sgd = torch.optim.SGD(model.parameters(), 0.1);
        Func<Tensor> loss = () => model.call(torch.ones(1, 2)).sum();
        Assert.Equal("Loss", Assert.Throws<ArgumentNullException>(() => new StepContext(model, sgd, null!, loss)).ParamName);
        Assert.Equal("Model", Assert.Throws<ArgumentNullException>(() => new StepContext(null!, sgd, loss, loss)).ParamName);
        Assert.Equal("MaxGradientNorm", Assert.Throws<ArgumentOutOfRangeException>(() => new StepContext(model, sgd, loss, loss) { MaxGradientNorm = 0 }).ParamName);
        Assert.Equal("MaxGradientNorm", Assert.Throws<ArgumentOutOfRangeException>(() => new StepContext(model, sgd, loss, loss) { MaxGradientNorm = double.NaN }).ParamName);
        var context = new StepContext(model, sgd, loss, loss);
        Assert.Equal("RepeatLoss", Assert.Throws<ArgumentNullException>(() => context with { RepeatLoss = null! }).ParamName);
    }

    public static TheoryData<string> Kinds => MethodFactory.All();

    [Theory]
    [MemberData(nameof(Kinds))]
    public void Repeating_a_loss_replays_its_draws_and_changes_no_state(string kind)
    {
        using var data = MethodFactory.Data(100);
        using var method = MethodFactory.Make(kind, data, new SeedSource(3));
        using var model = MethodFactory.ModelFor(kind, 2);
        model.train();
        var order = method.BeginEpoch(1, 2);
        using var scope = NewDisposeScope();
        using var batch = data.Train.GetBatch(order.AsSpan(0, 32));
        Assert.Throws<InvalidOperationException>(() => method.RepeatLoss(model, batch));   // nothing to repeat yet
        var loss = method.Loss(model, batch).item<float>();
        var state = System.Text.Json.JsonSerializer.Serialize(method.GetState());
        var repeated = method.RepeatLoss(model, batch).item<float>();
        Assert.Equal(loss, repeated, 1e-5);
        Assert.Equal(state, System.Text.Json.JsonSerializer.Serialize(method.GetState()));
        using var other = data.Train.GetBatch(order.AsSpan(32, 32));
        Assert.Contains("same instance", Assert.Throws<InvalidOperationException>(() => method.RepeatLoss(model, other)).Message);
        // the next loss draws what it would have drawn without the repeat
        using var twin = MethodFactory.Make(kind, data, new SeedSource(3));
        twin.BeginEpoch(1, 2);
        twin.Loss(model, batch);
        Assert.Equal(method.Loss(model, other).item<float>(), twin.Loss(model, other).item<float>(), 1e-6);
    }
}
