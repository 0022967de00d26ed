using GroupRobust.Data;
using GroupRobust.Methods;
using GroupRobust.Models;
using GroupRobust.Recipes;
using GroupRobust.Tests.Methods;
using GroupRobust.Tests.TestSupport;
using TorchSharp;
using static TorchSharp.torch;

namespace GroupRobust.Tests.Models;

public class FeatureExtractorTests
{
    /// <summary>
    /// lin1 (2 -> 16), act, drop (p = 0.5), fc (16 -> 2) as a hand-written module (its forward keeps the intermediate tensors
    /// in the caller's dispose scope, as a ResNet's or BERT's does): the fc input is relu(lin1(x)) in eval mode only.
    /// </summary>
    internal sealed class Mlp : nn.Module<Tensor, Tensor>
    {
        private readonly TorchSharp.Modules.Linear lin1;
        private readonly TorchSharp.Modules.ReLU act;
        private readonly TorchSharp.Modules.Dropout drop;
        private readonly TorchSharp.Modules.Linear fc;

        public Mlp(int seed, int hidden = 16) : base("mlp")
        {
            lin1 = nn.Linear(2, hidden);
            act = nn.ReLU();
            drop = nn.Dropout(0.5);
            fc = nn.Linear(hidden, 2);
            RegisterComponents();
            Seeded.Init(this, seed);
        }

        public nn.Module<Tensor, Tensor> Lin1 => lin1;

        public nn.Module Drop => drop;

        public override Tensor forward(Tensor input) => fc.call(drop.call(act.call(lin1.call(input))));
    }

    /// <summary>The same layers as an nn.Sequential (whose forward disposes every intermediate result as soon as the next layer ran).</summary>
    internal static nn.Module<Tensor, Tensor> SequentialWithDropout(int seed)
        => Seeded.Init(nn.Sequential(("lin1", nn.Linear(2, 16)), ("act", nn.ReLU()), ("drop", nn.Dropout(0.5)), ("fc", nn.Linear(16, 2))), seed);

    /// <summary>A model that runs its classifier through forward() instead of call(), so no hook fires.</summary>
    internal sealed class DirectForward : nn.Module<Tensor, Tensor>
    {
        private readonly TorchSharp.Modules.Linear fc;

        public DirectForward() : base("direct")
        {
            fc = nn.Linear(2, 2);
            RegisterComponents();
        }

        public override Tensor forward(Tensor input) => fc.forward(input);
    }

    /// <summary>lin1 (2 -> 16), act, then a cosine classifier (a parametrised leaf that is not a Linear) as the final layer.</summary>
    internal sealed class CosineClassified : nn.Module<Tensor, Tensor>
    {
        private readonly TorchSharp.Modules.Linear lin1;
        private readonly TorchSharp.Modules.ReLU act;
        private readonly Cosine cos;

        public CosineClassified(int seed) : base("cosine-classified")
        {
            lin1 = nn.Linear(2, 16);
            act = nn.ReLU();
            cos = new Cosine();
            RegisterComponents();
            Seeded.Init(this, seed);
        }

        public override Tensor forward(Tensor input) => cos.call(act.call(lin1.call(input)));

        private sealed class Cosine : nn.Module<Tensor, Tensor>
        {
            private readonly TorchSharp.Modules.Parameter weight;

            public Cosine() : base("cosine")
            {
                weight = new TorchSharp.Modules.Parameter(torch.zeros(2, 16));
                RegisterComponents();
            }

            public override Tensor forward(Tensor input)
                => nn.functional.normalize(input, dim: 1).matmul(nn.functional.normalize(weight, dim: 1).t()) * 10;
        }
    }

    private static float[] Values(Tensor t) => t.to(ScalarType.Float32).contiguous().data<float>().ToArray();

    private static Tensor All(IGroupDataset data) => data.GetBatch([.. Enumerable.Range(0, data.Count).Select(i => (long)i)]).Inputs;

    /// <summary>The checks of <see cref="Features_are_exactly_the_input_of_the_final_linear"/> for any model whose layers before fc are <paramref name="body"/>.</summary>
    private static void AssertFeaturesOf(nn.Module<Tensor, Tensor> model, Func<Tensor, Tensor> body, IGroupDataset data)
    {
        using var features = FeatureExtractor.Extract(model, data, batchSize: 7);   // 100 = 14 x 7 + 2: a partial last batch
        Assert.Equal(new long[] { data.Count, 16 }, features.Inputs.shape);
        Assert.Equal(ScalarType.Float32, features.Inputs.dtype);

        // the manual forward of the layers before fc, in eval mode (dropout off)
        using var scope = NewDisposeScope();
        var x = All(data);
        Tensor expected;
        using (torch.no_grad()) expected = body(x);
        Assert.True(features.Inputs.allclose(expected, rtol: 0, atol: 1e-6), "features differ from relu(lin1(x))");
        // many hidden units are active and all are unscaled: a dropout in training mode would have zeroed half and doubled the rest
        Assert.True(features.Inputs.gt(0).sum().item<long>() > 300);

        // the final Linear applied to them gives the model's eval-mode logits
        bool training = model.training;
        Tensor logits;
        using (torch.no_grad())
        {
            model.eval();
            logits = model.call(x);
            model.train(training);
        }
        Assert.True(LinearHead.Read(model).Logits(features.Inputs).allclose(logits, rtol: 0, atol: 1e-5));

        // labels and groups are carried in dataset order
        Assert.Equal(data.Labels.ToArray(), features.Labels.ToArray());
        Assert.True(features.HasGroups);
        Assert.Equal(data.Groups.ToArray(), features.Groups.ToArray());
        Assert.Equal(data.Scheme, features.Scheme);
    }

    [Fact]
    public void Features_are_exactly_the_input_of_the_final_linear()
    {
        using var data = MethodFactory.Data(100);
        using var model = new Mlp(3);
        model.train();
        AssertFeaturesOf(model, x => nn.functional.relu(model.Lin1.call(x)), data.Validation);
    }

    [Fact]
    public void Features_of_a_sequential_model_are_the_input_of_its_final_linear()
    {
        using var data = MethodFactory.Data(100);
        using var model = SequentialWithDropout(3);
        var lin1 = (nn.Module<Tensor, Tensor>)model.named_modules().First(m => m.name == "lin1").module;
        AssertFeaturesOf(model, x => nn.functional.relu(lin1.call(x)), data.Validation);
        using var plain = MethodFactory.Model(2);
        var plainLin1 = (nn.Module<Tensor, Tensor>)plain.named_modules().First(m => m.name == "lin1").module;
        AssertFeaturesOf(plain, x => nn.functional.relu(plainLin1.call(x)), data.Validation);
    }

    [Fact]
    public void A_named_classifier_and_datasets_without_groups_or_through_views_work()
    {
        using var data = MethodFactory.Data(100);
        using var model = new Mlp(4);
        // naming lin1 captures its input: the raw inputs
        using (var raw = FeatureExtractor.Extract(model, data.Validation, "lin1", batchSize: 32))
        using (var scope = NewDisposeScope())
            Assert.Equal(Values(All(data.Validation)), Values(raw.Inputs));

        using (var ungrouped = FeatureExtractor.Extract(model, data.Validation.WithoutGroupLabels()))
        {
            Assert.False(ungrouped.HasGroups);
            Assert.Equal(data.Validation.Labels.ToArray(), ungrouped.Labels.ToArray());
        }

        // a subset view: rows re-indexed 0..M-1, features of the selected rows in the view's order
        long[] rows = [9, 2, 50, 2, 77];
        using var view = new SubsetView(data.Validation, rows);
        using var sub = FeatureExtractor.Extract(model, view, batchSize: 2);
        using var whole = FeatureExtractor.Extract(model, data.Validation);
        for (int i = 0; i < rows.Length; i++)
        {
            using var a = sub.Inputs[i];
            using var b = whole.Inputs[rows[i]];
            // batches of 2 against one pass over the split: matrix kernels may round the last bit differently
            Assert.True(a.allclose(b, rtol: 1e-5, atol: 1e-6), $"row {i}: the view's features differ from the split's");
            Assert.Equal(data.Validation.Groups.Span[(int)rows[i]], sub.Groups.Span[i]);
        }
        // a regrouped view: its groups are carried
        var inferred = GroupRobust.Identification.GroupAssignment.FromErrorSet(Enumerable.Range(0, 100).Select(i => i % 3 == 0).ToArray(), data.Validation, "test");
        using var regrouped = inferred.ApplyTo(data.Validation);
        using var regroupedFeatures = FeatureExtractor.Extract(model, regrouped);
        Assert.Equal(inferred.Groups.ToArray(), regroupedFeatures.Groups.ToArray());
    }

    [Fact]
    public void The_models_modes_are_restored()
    {
        using var data = MethodFactory.Data(100);
        using var model = new Mlp(5);
        model.train();
        model.Lin1.eval();   // a mixed state: the model trains, one submodule is frozen in eval mode
        using (FeatureExtractor.Extract(model, data.Validation)) { }
        Assert.True(model.training);
        Assert.True(model.Drop.training);
        Assert.False(model.Lin1.training);
        model.eval();
        using (FeatureExtractor.Extract(model, data.Validation)) { }
        Assert.False(model.training);
        Assert.False(model.Drop.training);
        // no gradient was recorded
        Assert.All(model.parameters(), p => Assert.True(p.grad is null || p.grad.IsInvalid || p.grad.abs().sum().item<float>() == 0));
    }

    [Fact]
    public void Models_without_a_usable_linear_classifier_are_rejected()
    {
        using var data = MethodFactory.Data(100);
        using var model = MethodFactory.Model(0);
        var notLinear = Assert.Throws<ArgumentException>(() => FeatureExtractor.Extract(model, data.Validation, "act"));
        Assert.Equal("classifierName", notLinear.ParamName);
        Assert.Contains("ReLU", notLinear.Message);
        var unknown = Assert.Throws<ArgumentException>(() => FeatureExtractor.Extract(model, data.Validation, "head"));
        Assert.Equal("classifierName", unknown.ParamName);
        Assert.Contains("lin1", unknown.Message);   // the known names are listed

        using var noLinear = nn.Sequential(("act", nn.ReLU()), ("id", nn.Identity()));
        Assert.Throws<ArgumentException>(() => FeatureExtractor.Extract(noLinear, data.Validation));

        using var direct = new DirectForward();
        var silent = Assert.Throws<ArgumentException>(() => FeatureExtractor.Extract(direct, data.Validation));
        Assert.Equal("model", silent.ParamName);
        Assert.Contains("hook did not fire", silent.Message);
        Assert.True(direct.training);   // restored after the failure too

        Assert.Throws<ArgumentOutOfRangeException>(() => FeatureExtractor.Extract(model, data.Validation, batchSize: 0));
        Assert.Throws<ArgumentNullException>(() => FeatureExtractor.Extract(null!, data.Validation));
        Assert.Throws<ArgumentNullException>(() => FeatureExtractor.Extract(model, null!));
    }

    [Fact]
    public void A_model_whose_final_layer_is_not_linear_is_rejected()
    {
        using var data = MethodFactory.Data(100);
        using var model = new CosineClassified(1);
        Assert.Throws<ArgumentException>(() => FeatureExtractor.Extract(model, data.Validation));
        Assert.Throws<ArgumentException>(() => LinearHead.Read(model));
    }

    [Fact]
    public void After_extraction_the_model_computes_as_before()
    {
        // the hook is removed: a later forward returns the same logits and extraction can be repeated with the same result
        using var data = MethodFactory.Data(100);
        using var model = new Mlp(6);
        model.eval();
        using var scope = NewDisposeScope();
        var x = All(data.Validation);
        Tensor before, after;
        using (torch.no_grad()) before = model.call(x);
        using (var first = FeatureExtractor.Extract(model, data.Validation, batchSize: 13))
        using (var second = FeatureExtractor.Extract(model, data.Validation, batchSize: 13))
        using (var whole = FeatureExtractor.Extract(model, data.Validation))
        {
            Assert.Equal(Values(first.Inputs), Values(second.Inputs));   // a repeat: the same batches, the same numbers
            Assert.True(whole.Inputs.allclose(first.Inputs, rtol: 1e-5, atol: 1e-6), "another batch size changed the features beyond rounding");
        }
        using (torch.no_grad()) after = model.call(x);
        Assert.Equal(Values(before), Values(after));
    }
}

[Collection(LeakCollection.Name)]
public class FeatureExtractorLeakTests
{
    [Fact]
    public void Extraction_leaves_no_live_tensors()
    {
        using var data = MethodFactory.Data(100);
        using var model = new FeatureExtractorTests.Mlp(1);
        LeakCheck.AssertFlat(() =>
        {
            using var features = FeatureExtractor.Extract(model, data.Validation, batchSize: 32);
        }, warmup: 3, steps: 60);
        // the failure path too (batches run before the missing hook is noticed)
        using var direct = new FeatureExtractorTests.DirectForward();
        LeakCheck.AssertFlat(() => Assert.Throws<ArgumentException>(() => FeatureExtractor.Extract(direct, data.Validation)), warmup: 2, steps: 30);
    }
}
