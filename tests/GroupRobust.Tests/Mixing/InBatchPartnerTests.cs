using GroupRobust.Data;
using GroupRobust.Identification;
using GroupRobust.Methods;
using GroupRobust.Mixing;
using GroupRobust.Tests.TestSupport;
using TorchSharp;
using static TorchSharp.torch;

namespace GroupRobust.Tests.Mixing;

/// <summary>Partners drawn from the batch's own rows (<see cref="PartnerSource.Batch"/>) and the forward pass that uses them.</summary>
public class InBatchPartnerTests
{
    [Fact]
    public void In_batch_partners_obey_the_policy_and_only_missing_ones_come_from_outside()
    {
        var (data, errorSet) = Tiny.TwoClassesWithErrorSet();
        using var _ = data;
        var mixer = new ClassConditionalMixer(errorSet, new Random(1));
        var rng = new Random(2);
        int inBatch = 0, outside = 0;
        for (int trial = 0; trial < 300; trial++)
        {
            var idx = Enumerable.Range(0, data.Count).OrderBy(_ => rng.Next()).Take(16).Select(i => (long)i).ToArray();
            var plan = mixer.DrawPartners(idx, PartnerSource.Batch);
            int k = 0;
            for (int i = 0; i < idx.Length; i++)
            {
                long p = plan.PartnerIndices[i];
                Assert.Equal(errorSet.Labels.Span[(int)idx[i]], errorSet.Labels.Span[(int)p]);          // same class
                Assert.NotEqual(errorSet.IsMinority(idx[i]), errorSet.IsMinority(p));                     // other side
                bool eligibleInBatch = idx.Any(j => errorSet.Labels.Span[(int)j] == errorSet.Labels.Span[(int)idx[i]] && errorSet.IsMinority(j) != errorSet.IsMinority(idx[i]));
                if (plan.PartnerRows[i] < idx.Length)
                {
                    Assert.Equal(idx[plan.PartnerRows[i]], p);
                    inBatch++;
                }
                else
                {
                    Assert.False(eligibleInBatch);   // the batch had no partner for this row
                    Assert.Equal(idx.Length + k, plan.PartnerRows[i]);
                    Assert.Equal(p, plan.OutsidePartnerIndices[k++]);
                    outside++;
                }
            }
            Assert.Equal(k, plan.OutsidePartnerIndices.Length);
        }
        Assert.True(inBatch > 0 && outside > 0, $"in batch {inBatch}, outside {outside}");
    }

    [Fact]
    public void Class_conditional_mixup_never_pairs_a_row_with_itself_in_the_batch()
    {
        var (data, _) = Tiny.TwoClassesWithErrorSet();
        using var _ = data;
        var none = GroupAssignment.FromErrorSet(new bool[data.Count], data, "none");
        var mixer = new ClassConditionalMixer(none, new Random(8), policy: PartnerPolicy.SameClass);
        var rng = new Random(9);
        var seen = new HashSet<long>();
        for (int trial = 0; trial < 200; trial++)
        {
            var idx = Enumerable.Range(0, data.Count).OrderBy(_ => rng.Next()).Take(8).Select(i => (long)i).ToArray();
            var plan = mixer.DrawPartners(idx, PartnerSource.Batch);
            for (int i = 0; i < idx.Length; i++)
            {
                if (plan.PartnerRows[i] >= idx.Length) continue;   // no other row of its class in the batch
                Assert.NotEqual(i, plan.PartnerRows[i]);
                Assert.Equal(none.Labels.Span[(int)idx[i]], none.Labels.Span[(int)plan.PartnerIndices[i]]);
                seen.Add(plan.PartnerRows[i]);
            }
        }
        Assert.Equal(8, seen.Count);   // every position serves as a partner
    }

    [Fact]
    public void Over_random_batches_every_pool_member_is_an_equally_likely_partner()
    {
        var (data, errorSet) = Tiny.TwoClassesWithErrorSet();
        using var _ = data;
        var mixer = new ClassConditionalMixer(errorSet, new Random(3));
        var rng = new Random(4);
        var counts = new Dictionary<long, int>();
        int draws = 0;
        for (int trial = 0; trial < 4000; trial++)
        {
            var idx = Enumerable.Range(0, data.Count).OrderBy(_ => rng.Next()).Take(32).Select(i => (long)i).ToArray();
            var plan = mixer.DrawPartners(idx, PartnerSource.Batch);
            for (int i = 0; i < idx.Length; i++)
            {
                // majority rows of class 0: their pool is the 10 minority samples of class 0
                if (errorSet.IsMinority(idx[i]) || errorSet.Labels.Span[(int)idx[i]] != 0) continue;
                counts[plan.PartnerIndices[i]] = counts.GetValueOrDefault(plan.PartnerIndices[i]) + 1;
                draws++;
            }
        }
        var pool = errorSet.MinorityIndices().Where(i => errorSet.Labels.Span[(int)i] == 0).ToArray();
        Assert.Equal(pool.Order(), counts.Keys.Order());
        double expected = (double)draws / pool.Length, se = Math.Sqrt(expected);
        foreach (var c in counts.Values) Assert.InRange(c, expected - 5 * se, expected + 5 * se);
    }

    [Fact]
    public void Hidden_layer_mixing_with_partner_rows_equals_mixing_with_the_gathered_partners_forward_and_backward()
    {
        using var scope = NewDisposeScope();
        torch.random.manual_seed(5);
        using var model = nn.Sequential(("lin1", nn.Linear(4, 8)), ("act", nn.ReLU()), ("fc", nn.Linear(8, 3)));
        var x = torch.randn(5, 4);
        var outside = torch.randn(2, 4);
        long[] rows = [3, 5, 0, 6, 1];   // rows 1 and 3 take the outside partners
        var c = torch.tensor(new[] { 0.1f, 0.5f, 0.9f, 1f, 0.3f });
        foreach (var layer in new[] { MixedForwardPass.InputLayer, "act", MixedForwardPass.OutputLayer })
        {
            var pass = new MixedForwardPass(model, [layer], new Random(0));
            model.zero_grad();
            var viaRows = pass.Run(x, outside, rows, c);
            viaRows.square().sum().backward();
            var gradRows = model.parameters().Select(p => p.grad!.clone()).ToArray();

            // the same mix with the partners gathered by hand: the partner pass then recomputes the batch's rows
            model.zero_grad();
            var gathered = torch.cat([x, outside], 0).index_select(0, torch.tensor(rows));
            var viaPartners = pass.Run(x, gathered, c);
            viaPartners.square().sum().backward();
            Assert.True(viaRows.allclose(viaPartners, 1e-5, 1e-6), layer);
            foreach (var (a, b) in gradRows.Zip(model.parameters().Select(p => p.grad!)))
                Assert.True(a.allclose(b, 1e-4, 1e-6), $"gradients differ at {layer}");
        }
    }

    [Fact]
    public void One_pass_over_the_batch_and_its_outside_partners_runs_so_batch_norm_sees_an_ordinary_batch()
    {
        using var scope = NewDisposeScope();
        torch.random.manual_seed(6);
        using var model = nn.Sequential(("lin1", nn.Linear(4, 8)), ("norm", nn.BatchNorm1d(8)), ("act", nn.ReLU()), ("fc", nn.Linear(8, 3)));
        var rowsSeen = new List<long>();
        var hook = model.register_forward_pre_hook((_, input) => { rowsSeen.Add(input.shape[0]); return input; });
        var pass = new MixedForwardPass(model, ["act"], new Random(0));
        var none = pass.Run(torch.randn(4, 4), null, [1, 0, 3, 2], torch.full(4, 0.5f));
        // one outside partner: still one pass, of 5 rows (a separate pass of 1 row would break BatchNorm1d in training mode)
        var one = pass.Run(torch.randn(4, 4), torch.randn(1, 4), [4, 0, 3, 2], torch.full(4, 0.5f));
        hook.remove();
        Assert.Equal([4L, 5L], rowsSeen);
        Assert.Equal([4L, 3L], none.shape);
        Assert.Equal([4L, 3L], one.shape);
    }

    [Fact]
    public void Bad_partner_rows_are_rejected_naming_the_row()
    {
        using var scope = NewDisposeScope();
        using var model = nn.Sequential(("lin1", nn.Linear(4, 8)), ("act", nn.ReLU()), ("fc", nn.Linear(8, 3)));
        var pass = new MixedForwardPass(model, ["act"], new Random(0));
        var x = torch.randn(3, 4);
        var c = torch.full(3, 0.5f);
        var range = Assert.Throws<ArgumentOutOfRangeException>(() => pass.Run(x, torch.randn(1, 4), [0, 4, 1], c));
        Assert.Contains("Partner row 1 is 4; expected [0, 4)", range.Message);
        var length = Assert.Throws<ArgumentException>(() => pass.Run(x, null, [0, 1], c));
        Assert.Contains("'partnerRows' has 2 entries", length.Message);
        var shape = Assert.Throws<ArgumentException>(() => pass.Run(x, torch.randn(2, 5), [0, 1, 2], c));
        Assert.Contains("all but the first dimension must match", shape.Message);
    }

    [Fact]
    public void The_method_with_in_batch_partners_mixes_and_names_itself()
    {
        var (data, errorSet) = Tiny.TwoClassesWithErrorSet();
        using var _ = data;
        using var method = Jm1Method.Jm1(data, errorSet, new GroupRobust.Randomness.SeedSource(0),
            new Jm1Options { Layer = MixingLayer.Named("act"), Partners = PartnerSource.Batch });
        Assert.Equal("JM1 (act, in-batch partners)", method.Name);
        torch.random.manual_seed(7);
        using var model = nn.Sequential(("lin1", nn.Linear(3, 8)), ("act", nn.ReLU()), ("fc", nn.Linear(8, 2)));
        using var opt = torch.optim.SGD(model.parameters(), 1e-4);
        foreach (var batch in data.Batches(method.BeginEpoch(1, 1), 32))
        {
            using var scope = NewDisposeScope();
            opt.zero_grad();
            var loss = method.Loss(model, batch);
            Assert.True(float.IsFinite(loss.item<float>()));
            loss.backward();
            opt.step();
        }
        var summary = method.EndEpoch();
        Assert.Equal(data.Count, summary.Mixing!.Mixed);
    }
}
