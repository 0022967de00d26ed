using GroupRobust.Data;
using GroupRobust.Identification;
using GroupRobust.Methods;
using GroupRobust.Mixing;
using GroupRobust.Models;
using GroupRobust.Randomness;
using GroupRobust.Tests.Methods;
using TorchSharp;
using static TorchSharp.torch;

namespace GroupRobust.Tests.Models;

public class EncoderClassifierTests
{
    /// <summary>The test MLP (lin1, act, fc) as an encoder (lin1, act) and a head (fc) with the same weights.</summary>
    private static (nn.Module<Tensor, Tensor> Plain, EncoderClassifier Split) Pair(int seed)
    {
        var plain = MethodFactory.Model(seed);
        var layers = plain.named_children().ToDictionary(c => c.name, c => (nn.Module<Tensor, Tensor>)c.module);
        var encoder = nn.Sequential(("lin1", nn.Linear(2, 16)), ("act", nn.ReLU()));
        var head = nn.Linear(16, 2);
        using (torch.no_grad())
        {
            foreach (var ((_, a), (_, b)) in encoder.named_parameters().Zip(layers["lin1"].named_parameters())) a.copy_(b);
            foreach (var ((_, a), (_, b)) in head.named_parameters().Zip(layers["fc"].named_parameters())) a.copy_(b);
        }
        return (plain, new EncoderClassifier(encoder, head));
    }

    [Fact]
    public void A_declared_encoder_mixes_at_its_output_without_hooks_as_the_hooked_split_does()
    {
        using var scope = NewDisposeScope();
        var (plain, split) = Pair(3);
        using var _ = plain;
        using var __ = split;
        var x = torch.randn(6, 2);
        var p = torch.randn(6, 2);
        var c = torch.tensor(new[] { 0.1f, 0.5f, 0.9f, 1f, 0f, 0.3f });
        var hooked = new MixedForwardPass(plain, [MixedForwardPass.OutputLayer], new Random(0)).Run(x, p, c);
        var declared = new MixedForwardPass(split, [MixedForwardPass.OutputLayer], new Random(0));
        Assert.Equal("head", declared.ClassifierName);
        Assert.True(hooked.allclose(declared.Run(x, p, c), 1e-6, 1e-6));
        // in-batch partners: rows of [batch; outside partners]
        var outside = torch.randn(2, 2);
        long[] rows = [1, 0, 6, 7, 2, 3];
        var a = new MixedForwardPass(plain, [MixedForwardPass.OutputLayer], new Random(0)).Run(x, outside, rows, c);
        Assert.True(a.allclose(declared.Run(x, outside, rows, c), 1e-6, 1e-6));
        // a named layer of the encoder still works through hooks
        Assert.True(new MixedForwardPass(plain, ["act"], new Random(0)).Run(x, p, c).allclose(new MixedForwardPass(split, ["encoder.act"], new Random(0)).Run(x, p, c), 1e-6, 1e-6));
    }

    [Fact]
    public void Features_and_the_last_layer_are_the_declared_encoders_and_heads()
    {
        using var data = MethodFactory.Data(100);
        var (plain, split) = Pair(4);
        using var _ = plain;
        using var __ = split;
        using var a = FeatureExtractor.Extract(plain, data.Validation);
        using var b = FeatureExtractor.Extract(split, data.Validation);
        Assert.True(a.Inputs.allclose(b.Inputs, 1e-6, 1e-6));
        var head = LinearHead.Read(split);
        Assert.Equal((2, 16), (head.Classes, head.Features));
        using var zero = torch.zeros(2, 16);
        LinearHead.FromTensors(zero, torch.zeros(2)).Load(split);
        Assert.True(((TorchSharp.Modules.Linear)split.Head).weight!.allclose(zero, 0, 0));
        Assert.Equal(["encoder", "encoder.act", "encoder.lin1", "head"], split.named_modules().Select(m => m.name).Where(n => n.Length > 0).Order(StringComparer.Ordinal).ToArray());
    }

    /// <summary>A model that runs its layers with forward() (hooks never fire) but declares its encoder and head.</summary>
    private sealed class Handmade : nn.Module<Tensor, Tensor>, IEncoderHead
    {
        private readonly TorchSharp.Modules.Linear lin1 = nn.Linear(2, 16);
        private readonly TorchSharp.Modules.Linear fc = nn.Linear(16, 2);

        public Handmade() : base(nameof(Handmade)) => RegisterComponents();

        public nn.Module<Tensor, Tensor> Head => fc;

        public Tensor Encode(Tensor input) => nn.functional.relu(lin1.forward(input));

        public override Tensor forward(Tensor input) => fc.forward(Encode(input));
    }

    [Fact]
    public void Jm1_at_the_output_of_a_model_whose_forward_hooks_never_see_trains_through_its_declaration()
    {
        using var data = MethodFactory.Data(100);
        using var model = new Handmade();
        var errorSet = GroupAssignment.FromErrorSet(Enumerable.Range(0, 100).Select(i => i % 4 == 0).ToArray(), data.Train, "test");
        using var jm1 = Jm1Method.Jm1(data.Train, errorSet, new SeedSource(0), new Jm1Options { Layer = MixingLayer.Output });
        using var opt = torch.optim.SGD(model.parameters(), 0.1);
        var summary = MethodFactory.Train(jm1, model, opt, data.Train, 0, 1, 1)!;
        Assert.True(summary.Mixing!.Mixed > 0);
        Assert.Equal(MixedForwardPass.OutputLayer, jm1.LastLayer);
    }

    /// <summary>A text encoder on one tensor of token ids [B, L] (0 = padding): the mask is derived from the ids, as BERT-family encoders do.</summary>
    private sealed class TokenMean : nn.Module<Tensor, Tensor>
    {
        private readonly TorchSharp.Modules.Embedding embed = nn.Embedding(10, 4);

        public TokenMean() : base(nameof(TokenMean)) => RegisterComponents();

        public override Tensor forward(Tensor ids)
        {
            using var scope = NewDisposeScope();
            var mask = ids.ne(0).unsqueeze(-1).to(ScalarType.Float32);
            return (embed.call(ids) * mask).sum(1).div(mask.sum(1).clamp_min(1)).MoveToOuterDisposeScope();
        }
    }

    [Fact]
    public void Token_ids_mix_at_the_encoders_output_and_are_refused_at_the_input()
    {
        using var scope = NewDisposeScope();
        using var model = new EncoderClassifier(new TokenMean(), nn.Linear(4, 2));
        var ids = torch.tensor(new long[] { 1, 2, 3, 0, 4, 5, 0, 0, 6, 7, 8, 9 }).reshape(3, 4);
        var partners = torch.tensor(new long[] { 9, 8, 0, 0, 1, 1, 1, 1, 2, 0, 0, 0 }).reshape(3, 4);
        var c = torch.tensor(new[] { 0.2f, 0.5f, 1f });
        var logits = new MixedForwardPass(model, [MixedForwardPass.OutputLayer], new Random(0)).Run(ids, partners, c);
        var expected = model.Head.call(torch.lerp(model.Encoder.call(partners), model.Encoder.call(ids), c.unsqueeze(1)));
        Assert.True(logits.allclose(expected, 1e-6, 1e-6));
        var ex = Assert.Throws<ArgumentException>(() => new MixedForwardPass(model, [MixedForwardPass.InputLayer], new Random(0)).Run(ids, partners, c));
        Assert.Equal("inputs", ex.ParamName);
        Assert.Contains("Int64", ex.Message);
        Assert.Contains("token ids", ex.Message);
    }

    [Fact]
    public void Methods_that_would_interpolate_token_ids_refuse_them_at_the_door_and_jm1_at_the_output_trains_on_them()
    {
        // 8 "sentences" of 4 token ids (0 = padding), 2 classes x 2 attributes
        int[] labels = [0, 0, 0, 0, 1, 1, 1, 1], attributes = [0, 1, 0, 1, 0, 1, 0, 1];
        var ids = Enumerable.Range(0, 32).Select(i => (long)(i % 7 == 0 ? 0 : 1 + i % 9)).ToArray();
        using var text = new TensorGroupDataset(torch.tensor(ids).reshape(8, 4), torch.tensor(labels.Select(v => (long)v).ToArray()), GroupRobust.Groups.GroupScheme.Binary(),
            torch.tensor(attributes.Select(v => (long)v).ToArray()));
        var groups = GroupAssignment.FromTrueGroups(text);
        using var model = new EncoderClassifier(new TokenMean(), nn.Linear(4, 2));
        using var batch = text.GetBatch([0, 1, 2, 3, 4, 5, 6, 7]);
        using var input = Jm1Method.Jm1(text, groups, new SeedSource(0), new Jm1Options { Layer = MixingLayer.Input });
        input.BeginEpoch(1, 1);
        var json = new System.Text.Json.JsonSerializerOptions { NumberHandling = System.Text.Json.Serialization.JsonNumberHandling.AllowNamedFloatingPointLiterals };
        var before = System.Text.Json.JsonSerializer.Serialize(input.GetState(), json);
        var ex = Assert.Throws<ArgumentException>(() => input.Loss(model, batch));
        Assert.Equal("batch", ex.ParamName);
        Assert.Contains("MixingLayer.Output", ex.Message);
        Assert.Equal(before, System.Text.Json.JsonSerializer.Serialize(input.GetState(), json));   // nothing drawn or counted
        using var mixup = new MixupMethod(text, new SeedSource(0));
        mixup.BeginEpoch(1, 1);
        Assert.Contains("interpolates the inputs", Assert.Throws<ArgumentException>(() => mixup.Loss(model, batch)).Message);
        using var lisa = new LisaMethod(text, groups, new SeedSource(0));
        lisa.BeginEpoch(1, 1);
        Assert.Equal("batch", Assert.Throws<ArgumentException>(() => lisa.Loss(model, batch)).ParamName);
        // at the output: the encoder's representations are mixed, the ids never are
        using var output = Jm1Method.Jm1(text, groups, new SeedSource(0), new Jm1Options { Layer = MixingLayer.Output });
        output.BeginEpoch(1, 1);
        using var scope = NewDisposeScope();
        var loss = output.Loss(model, batch);
        Assert.True(double.IsFinite(loss.item<float>()));
        Assert.True(output.EndEpoch().Mixing!.Mixed > 0);
        // LISA at the output (the reference's setting for text) trains on them too
        using var lisaOutput = new LisaMethod(text, groups, new SeedSource(0), new LisaOptions { Layer = MixingLayer.Output });
        lisaOutput.BeginEpoch(1, 1);
        Assert.True(double.IsFinite(lisaOutput.Loss(model, batch).item<float>()));
    }

    /// <summary>A model that declares a head it never registered.</summary>
    private sealed class Unregistered : nn.Module<Tensor, Tensor>, IEncoderHead
    {
        private readonly TorchSharp.Modules.Linear lin1 = nn.Linear(2, 2);

        public Unregistered() : base(nameof(Unregistered)) => RegisterComponents();

        private readonly List<nn.Module<Tensor, Tensor>> _kept = [nn.Linear(2, 2)];   // a list field: RegisterComponents does not see it

        public nn.Module<Tensor, Tensor> Head => _kept[0];

        public Tensor Encode(Tensor input) => lin1.call(input);

        public override Tensor forward(Tensor input) => Head.call(Encode(input));
    }

    [Fact]
    public void Bad_declarations_are_refused_with_what_to_do()
    {
        using var linear = nn.Linear(2, 2);
        Assert.Equal("head", Assert.Throws<ArgumentException>(() => new EncoderClassifier(linear, linear)).ParamName);
        using var model = new Unregistered();
        Assert.Contains("register it", Assert.Throws<ArgumentException>(() => LinearHead.Read(model)).Message);
    }
}
