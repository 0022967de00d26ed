using GroupRobust.Data;
using GroupRobust.Groups;
using GroupRobust.Identification;
using GroupRobust.Methods;
using GroupRobust.Mixing;
using GroupRobust.Randomness;
using TorchSharp;
using static TorchSharp.torch;

namespace GroupRobust.Tests.Methods;

public class LisaMethodTests
{
    /// <summary>
    /// Replays a LISA method's draws: the method's streams are its seed source's named generators, so a mixer on
    /// "selection" and a Beta(2, 2) sampler on "lambda" of the same seed source draw what the method draws.
    /// </summary>
    private sealed class Replay(GroupAssignment groups, SeedSource seeds, double pSel, double alpha = 2)
    {
        private readonly ReproducibleRandom _lambda = seeds.Random("lambda");

        public LisaMixer Mixer { get; } = new(groups, seeds.Random("selection"), pSel);

        public (MixPlan Plan, double[] C) Draw(Batch batch)
        {
            var plan = Mixer.DrawPartners(batch);
            var c = new double[plan.Count];
            for (int i = 0; i < c.Length; i++)
            {
                double lambda = MathNet.Numerics.Distributions.Beta.Sample(_lambda, alpha, alpha);
                c[i] = plan.Mixed[i] ? lambda : 1;
            }
            return (plan, c);
        }
    }

    /// <summary>
    /// mean_i [c_i CE(f(x~_i), y_i) + (1 - c_i) CE(f(x~_i), y_p(i))] with x~_i = c_i x_i + (1 - c_i) x_p(i), mixed and
    /// cross-entropied on the host in float64 (only the forward runs in the model). <paramref name="ownLabelOnly"/> uses y_i for both terms.
    /// </summary>
    private static double HandLoss(nn.Module<Tensor, Tensor> model, IGroupDataset train, Batch batch, MixPlan plan, double[] c, bool ownLabelOnly = false)
    {
        using var scope = NewDisposeScope();
        var partners = train.GetBatch(plan.PartnerIndices);
        var x = batch.Inputs.to(ScalarType.Float64).data<double>().ToArray();
        var xp = partners.Inputs.to(ScalarType.Float64).data<double>().ToArray();
        int b = plan.Count, d = x.Length / b;
        var mixed = new double[x.Length];
        for (int i = 0; i < b; i++)
            for (int k = 0; k < d; k++) mixed[i * d + k] = c[i] * x[i * d + k] + (1 - c[i]) * xp[i * d + k];
        float[] logits;
        using (torch.no_grad())
            logits = model.call(torch.tensor(mixed, [b, d]).to(ScalarType.Float32)).data<float>().ToArray();
        int classes = logits.Length / b;
        var y = batch.Labels.data<long>().ToArray();
        var yp = partners.Labels.data<long>().ToArray();
        double total = 0;
        for (int i = 0; i < b; i++)
        {
            double max = Enumerable.Range(0, classes).Max(k => (double)logits[i * classes + k]);
            double logZ = max + Math.Log(Enumerable.Range(0, classes).Sum(k => Math.Exp(logits[i * classes + k] - max)));
            double ceOwn = logZ - logits[i * classes + y[i]];
            double cePartner = logZ - logits[i * classes + (ownLabelOnly ? y[i] : yp[i])];
            total += c[i] * ceOwn + (1 - c[i]) * cePartner;
        }
        return total / b;
    }

    [Fact]
    public void Loss_is_the_soft_label_cross_entropy_of_the_mixed_batch()
    {
        using var data = MethodFactory.Data(200);
        var groups = GroupAssignment.FromTrueGroups(data.Train);
        var seeds = new SeedSource(7);
        using var method = new LisaMethod(data.Train, groups, seeds);
        var replay = new Replay(groups, seeds, 0.5);
        using var model = MethodFactory.Model(3);
        using var opt = torch.optim.Adam(model.parameters(), 0.01);
        var order = method.BeginEpoch(1, 1);
        int intraDomainBatches = 0, intraLabelBatches = 0;
        foreach (var batch in data.Train.Batches(order, 20))
        {
            var (plan, c) = replay.Draw(batch);
            double expected = HandLoss(model, data.Train, batch, plan, c);
            double ownOnly = HandLoss(model, data.Train, batch, plan, c, ownLabelOnly: true);
            using var scope = NewDisposeScope();
            opt.zero_grad();
            var loss = method.Loss(model, batch);
            Assert.Equal(replay.Mixer.LastStrategy, method.Mixer.LastStrategy);
            Assert.Equal(expected, loss.ToDouble(), 1e-5);
            Assert.Equal(plan.Count, plan.MixedCount);   // every true group is non-empty: every row is mixed
            var partnerLabels = plan.PartnerIndices.Select(p => groups.LabelOf(p)).ToArray();
            if (method.Mixer.LastStrategy == LisaStrategy.IntraDomain)
            {
                // labels are mixed: every partner has another label and another loss than the own-label one
                intraDomainBatches++;
                for (int i = 0; i < plan.Count; i++) Assert.NotEqual(groups.LabelOf(plan.Indices[i]), partnerLabels[i]);
                Assert.True(Math.Abs(expected - ownOnly) > 1e-3, $"soft-label loss {expected} vs own-label loss {ownOnly}");
            }
            else
            {
                intraLabelBatches++;
                for (int i = 0; i < plan.Count; i++) Assert.Equal(groups.LabelOf(plan.Indices[i]), partnerLabels[i]);
                Assert.Equal(ownOnly, expected, 12);
            }
            loss.backward();
            opt.step();
        }
        Assert.True(intraDomainBatches >= 2 && intraLabelBatches >= 2, $"{intraLabelBatches} intra-label, {intraDomainBatches} intra-domain batches");
        var summary = method.EndEpoch();
        Assert.Equal(200, summary.Mixing!.Mixed);
        Assert.Equal(200, summary.Mixing.AlphaDraws);
        Assert.Equal(0.5, summary.Mixing.AlphaMean, 0.06);   // Beta(2, 2): mean 1/2, sd 0.22, SE over 200 draws 0.016
    }

    [Fact]
    public void With_p_sel_1_the_loss_is_the_own_label_cross_entropy_of_the_mix()
    {
        using var data = MethodFactory.Data(100);
        var groups = GroupAssignment.FromTrueGroups(data.Train);
        var seeds = new SeedSource(8);
        using var method = new LisaMethod(data.Train, groups, seeds, new LisaOptions { SelectionProbability = 1 });
        var replay = new Replay(groups, seeds, 1);
        using var model = MethodFactory.Model(4);
        foreach (var batch in data.Train.Batches(method.BeginEpoch(1, 1), 25))
        {
            var (plan, c) = replay.Draw(batch);
            double ownOnly = HandLoss(model, data.Train, batch, plan, c, ownLabelOnly: true);
            using var scope = NewDisposeScope();
            Assert.Equal(ownOnly, method.Loss(model, batch).ToDouble(), 1e-5);
            Assert.Equal(LisaStrategy.IntraLabel, method.Mixer.LastStrategy);
        }
        method.EndEpoch();
    }

    [Fact]
    public void A_constant_model_separates_label_preserving_from_label_mixing_selection()
    {
        // f(x) = b for every input: the loss depends only on the labels and their weights, not on the mixed inputs
        using var data = MethodFactory.Data(100);
        var groups = GroupAssignment.FromTrueGroups(data.Train);
        using var model = nn.Linear(2, 2);
        using (torch.no_grad())
        {
            model.weight!.zero_();
            model.bias!.copy_(torch.tensor(new[] { 0.8f, -0.4f }));
        }
        double logZ = Math.Log(Math.Exp(0.8) + Math.Exp(-0.4));
        double[] ce = [logZ - 0.8, logZ + 0.4];

        using var intraLabel = new LisaMethod(data.Train, groups, new SeedSource(1), new LisaOptions { SelectionProbability = 1 });
        var seeds = new SeedSource(1);
        using var intraDomain = new LisaMethod(data.Train, groups, seeds, new LisaOptions { SelectionProbability = 0 });
        var replay = new Replay(groups, seeds, 0);
        intraLabel.BeginEpoch(1, 1);
        var order = intraDomain.BeginEpoch(1, 1);
        using var batch = data.Train.GetBatch(order.AsSpan(0, 40));
        var y = batch.Labels.data<long>().ToArray();
        using var scope = NewDisposeScope();
        // p_sel = 1: the partner label is the own label, so the loss is mean CE(b, y_i)
        Assert.Equal(y.Average(v => ce[v]), intraLabel.Loss(model, batch).ToDouble(), 1e-6);
        // p_sel = 0: the partner label is the other class, weighted 1 - c_i
        var (plan, c) = replay.Draw(batch);
        double expected = Enumerable.Range(0, y.Length).Average(i => c[i] * ce[y[i]] + (1 - c[i]) * ce[1 - y[i]]);
        double actual = intraDomain.Loss(model, batch).ToDouble();
        Assert.Equal(expected, actual, 1e-6);
        Assert.True(Math.Abs(actual - y.Average(v => ce[v])) > 0.01);
        Assert.Equal(plan.PartnerIndices.Length, plan.MixedCount);
    }

    [Fact]
    public void Mixing_at_the_output_layer_mixes_the_classifier_inputs()
    {
        using var data = MethodFactory.Data(100);
        var groups = GroupAssignment.FromTrueGroups(data.Train);
        var seeds = new SeedSource(9);
        using var method = new LisaMethod(data.Train, groups, seeds, new LisaOptions { Layer = MixingLayer.Output });
        Assert.Equal("LISA (output)", method.Name);
        var replay = new Replay(groups, seeds, 0.5);
        using var model = MethodFactory.Model(6);
        var modules = model.named_modules().ToDictionary(m => m.name, m => (nn.Module<Tensor, Tensor>)m.module);
        Tensor Features(Tensor x) => modules["act"].call(modules["lin1"].call(x));
        foreach (var batch in data.Train.Batches(method.BeginEpoch(1, 1), 25))
        {
            var (plan, c) = replay.Draw(batch);
            using var scope = NewDisposeScope();
            double expected;
            using (torch.no_grad())
            {
                var partners = data.Train.GetBatch(plan.PartnerIndices);
                var w = torch.tensor(c).to(ScalarType.Float32).unsqueeze(1);
                var h = w * Features(batch.Inputs) + (1 - w) * Features(partners.Inputs);
                var logp = nn.functional.log_softmax(modules["fc"].call(h).to(ScalarType.Float64), 1);
                var own = -logp.gather(1, batch.Labels.unsqueeze(1)).squeeze(1);
                var other = -logp.gather(1, partners.Labels.unsqueeze(1)).squeeze(1);
                var cw = torch.tensor(c);
                expected = (cw * own + (1 - cw) * other).mean().ToDouble();
            }
            Assert.Equal(expected, method.Loss(model, batch).ToDouble(), 1e-5);
        }
        method.EndEpoch();
    }

    [Fact]
    public void Same_seed_gives_bit_identical_parameters()
    {
        using var data = MethodFactory.Data(200);
        var groups = GroupAssignment.FromTrueGroups(data.Train);
        nn.Module<Tensor, Tensor> Run(long seed)
        {
            var model = MethodFactory.Model(5);
            using var method = new LisaMethod(data.Train, groups, new SeedSource(seed));
            using var opt = torch.optim.Adam(model.parameters(), 0.01);
            MethodFactory.Train(method, model, opt, data.Train, 0, 2, 2);
            return model;
        }
        using var a = Run(1);
        using var b = Run(1);
        using var c = Run(2);
        foreach (var ((name, pa), (_, pb)) in a.named_parameters().Zip(b.named_parameters()))
            Assert.True(pa.allclose(pb, 0, 0), $"parameter {name} differs");
        Assert.Contains(a.named_parameters().Zip(c.named_parameters()), t => !t.First.parameter.allclose(t.Second.parameter, 0, 0));
    }

    [Fact]
    public void Default_epochs_draw_every_group_about_equally_often()
    {
        using var data = MethodFactory.Data(800);
        var groups = GroupAssignment.FromTrueGroups(data.Train);
        var sizes = groups.GroupCounts();
        Assert.True(sizes[1] < sizes[0] / 10, $"group sizes {string.Join(", ", sizes)}");   // a real imbalance to undo
        using var method = new LisaMethod(data.Train, groups, new SeedSource(2));
        Assert.True(method.Options.GroupBalancedSampling);
        for (int epoch = 0; epoch < 2; epoch++)
        {
            var order = method.BeginEpoch(epoch + 1, 2);
            Assert.Equal(800, order.Length);
            var counts = new long[4];
            foreach (var i in order) counts[groups.GroupOf(i)]++;
            // each group ~ Binomial(800, 1/4): mean 200, sd 12.2; 4.5 sd = 55
            Assert.All(counts, n => Assert.InRange(n, 145, 255));
            method.EndEpoch();
        }

        using var shuffled = new LisaMethod(data.Train, groups, new SeedSource(2), new LisaOptions { GroupBalancedSampling = false });
        var permutation = shuffled.BeginEpoch(1, 1);
        Assert.Equal(Enumerable.Range(0, 800).Select(i => (long)i), permutation.Order());
        Assert.NotEqual(Enumerable.Range(0, 800).Select(i => (long)i), permutation);
    }

    [Fact]
    public void Label_budget_and_name_follow_the_group_source()
    {
        using var data = MethodFactory.Data(100);
        using var truth = new LisaMethod(data.Train, GroupAssignment.FromTrueGroups(data.Train), new SeedSource(0));
        Assert.Equal(LabelBudget.TrainingGroups, truth.LabelBudget);
        Assert.Equal("LISA", truth.Name);
        var inferred = GroupAssignment.FromErrorSet(Enumerable.Range(0, 100).Select(i => i % 4 == 0).ToArray(), data.Train, "every-fourth");
        using var lisa = new LisaMethod(data.Train, inferred, new SeedSource(0));
        Assert.Equal(LabelBudget.None, lisa.LabelBudget);
        Assert.Equal("LISA (every-fourth groups)", lisa.Name);
        Assert.Same(inferred, lisa.Mixer.Groups);
        Assert.Equal(0.5, lisa.Mixer.SelectionProbability);

        using var other = MethodFactory.Data(120);
        Assert.Equal("groups", Assert.Throws<ArgumentException>(() => new LisaMethod(other.Train, inferred, new SeedSource(0))).ParamName);
        Assert.Equal("SelectionProbability", Assert.Throws<ArgumentOutOfRangeException>(() => new LisaMethod(data.Train, inferred, new SeedSource(0), new LisaOptions { SelectionProbability = 2 })).ParamName);
        Assert.Equal("MixAlpha", Assert.Throws<ArgumentOutOfRangeException>(() => new LisaMethod(data.Train, inferred, new SeedSource(0), new LisaOptions { MixAlpha = 0 })).ParamName);
    }
}
