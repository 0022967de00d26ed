using GroupRobust.Checkpoints;
using GroupRobust.Data;
using GroupRobust.Evaluation;
using GroupRobust.Groups;
using GroupRobust.Identification;
using GroupRobust.Methods;
using GroupRobust.Mixing;
using GroupRobust.Randomness;
using GroupRobust.Sampling;
using GroupRobust.Tests.TestSupport;
using TorchSharp;
using static TorchSharp.torch;

namespace GroupRobust.Tests.Methods;

public class MethodContractTests
{
    public static TheoryData<string> Kinds => MethodFactory.All();

    [Theory]
    [MemberData(nameof(Kinds))]
    public void Resuming_mid_run_reproduces_the_uninterrupted_run_exactly(string kind)
    {
        using var data = MethodFactory.Data();
        using var dir = new TempDirectory();
        const int total = 4;

        using var whole = MethodFactory.ModelFor(kind, 1);
        MethodEpochSummary lastWhole;
        using (var method = MethodFactory.Make(kind, data, new SeedSource(2)))
        using (var opt = torch.optim.Adam(whole.parameters(), 0.01))
        {
            lastWhole = MethodFactory.Train(method, whole, opt, data.Train, 0, total, total)!;
        }

        using (var first = MethodFactory.ModelFor(kind, 1))
        using (var method = MethodFactory.Make(kind, data, new SeedSource(2)))
        using (var opt = torch.optim.Adam(first.parameters(), 0.01))
        {
            MethodFactory.Train(method, first, opt, data.Train, 0, 2, total);
            TrainingCheckpoint.Save(dir.File("ckpt.bin"), first, opt, new CheckpointState { Epoch = 2, Method = method.GetState() });
        }

        using var resumed = MethodFactory.ModelFor(kind, 77);
        MethodEpochSummary lastResumed;
        using (var method = MethodFactory.Make(kind, data, new SeedSource(999))) // another seed: the state must carry everything
        using (var opt = torch.optim.Adam(resumed.parameters(), 0.01))
        {
            var state = TrainingCheckpoint.Load(dir.File("ckpt.bin"), resumed, opt);
            method.SetState(state.Method!);
            lastResumed = MethodFactory.Train(method, resumed, opt, data.Train, state.Epoch, total, total)!;
        }

        foreach (var ((name, a), (_, b)) in whole.named_parameters().Zip(resumed.named_parameters()))
            Assert.True(a.allclose(b, 0, 0), $"{kind}: parameter {name} differs");
        Assert.Equal(lastWhole, lastResumed, new SummaryComparer());
        using var evaluator = new WorstGroupEvaluator(data.Scheme, new EvaluatorOptions { BootstrapSamples = 0 });
        Assert.Equal(evaluator.Evaluate(whole, data.Test).ToJson(), evaluator.Evaluate(resumed, data.Test).ToJson());
    }

    private sealed class SummaryComparer : IEqualityComparer<MethodEpochSummary>
    {
        public bool Equals(MethodEpochSummary? x, MethodEpochSummary? y)
            => x!.Epoch == y!.Epoch && x.Samples == y.Samples
               && (x.Mixing is null) == (y.Mixing is null)
               && (x.Mixing is null || (x.Mixing.MixedPerClass.SequenceEqual(y.Mixing!.MixedPerClass) && x.Mixing.AlphaDraws == y.Mixing.AlphaDraws && x.Mixing.AlphaMean.Equals(y.Mixing.AlphaMean)))
               && (x.GroupWeights is null ? y.GroupWeights is null : x.GroupWeights.SequenceEqual(y.GroupWeights!));

        public int GetHashCode(MethodEpochSummary obj) => obj.Epoch;
    }

    [Theory]
    [MemberData(nameof(Kinds))]
    public void Every_method_reports_its_label_use_and_counts_its_samples(string kind)
    {
        using var data = MethodFactory.Data(100);
        using var method = MethodFactory.Make(kind, data, new SeedSource(0));
        using var model = MethodFactory.ModelFor(kind, 0);
        using var opt = torch.optim.SGD(model.parameters(), 0.1);
        Assert.Equal(MethodFactory.UsesTrainingGroups(kind) ? LabelBudget.TrainingGroups : LabelBudget.None, method.LabelBudget);
        Assert.False(string.IsNullOrWhiteSpace(method.Name));
        var order = method.BeginEpoch(2, 3);   // a fresh method may start at any epoch; its reports carry that epoch
        long seen = 0;
        foreach (var batch in data.Train.Batches(order, 32))
        {
            using var scope = NewDisposeScope();
            var loss = method.Loss(model, batch);
            Assert.Equal(0, loss.dim());
            Assert.True(loss.requires_grad);
            seen += batch.Size;
        }
        var summary = method.EndEpoch();
        Assert.Equal(seen, summary.Samples);
        Assert.Equal(order.Length, seen);
        Assert.Equal(method is Jm1Method or GroupJm1Method or LisaMethod, summary.Mixing is not null);
        Assert.Equal(2, summary.Epoch);
        if (summary.Mixing is { } mixing) Assert.Equal(2, mixing.Epoch);
        Assert.Equal(method is GroupDroMethod || kind.StartsWith("groupjm1-dro", StringComparison.Ordinal), summary.GroupWeights is not null);
    }

    [Theory]
    [MemberData(nameof(Kinds))]
    public void A_batch_of_another_split_a_subset_or_a_hand_built_batch_with_other_labels_is_refused_and_changes_nothing(string kind)
    {
        using var data = MethodFactory.Data(100);
        // another split of the same size: same generator settings, another seed, so other labels at some indices
        using var sameSize = SyntheticGaussianDataset.Create(new SyntheticGaussianOptions { TrainSize = 100, ValidationSize = 100, TestSize = 100, SpuriousScale = 3, Seed = 11 });
        using var method = MethodFactory.Make(kind, data, new SeedSource(0));
        using var model = MethodFactory.ModelFor(kind, 0);
        method.BeginEpoch(1, 2);
        var before = System.Text.Json.JsonSerializer.Serialize(method.GetState(), StateJson);
        int differs = Enumerable.Range(0, 100).First(i => data.Train.Labels.Span[i] != sameSize.Train.Labels.Span[i]);
        long another = differs == 0 ? 1 : 0;

        using var foreign = sameSize.Train.GetBatch([another, differs]);
        var e1 = Assert.Throws<ArgumentException>(() => method.Loss(model, foreign));
        Assert.Equal("batch", e1.ParamName);
        Assert.Contains("another split of the same size", e1.Message);

        using var subset = new SubsetView(data.Train, Enumerable.Range(0, 60).Select(i => (long)i).ToArray());
        using var part = subset.GetBatch([0, 1, 2]);
        Assert.Contains("a dataset of 60 samples (SubsetView)", Assert.Throws<ArgumentException>(() => method.Loss(model, part)).Message);

        // a batch built by hand (no origin) on the CPU is checked by its labels
        using var own = data.Train.GetBatch([differs]);
        using var handBuilt = new Batch(own.Inputs.clone(), (1 - own.Labels).contiguous(), own.Groups?.clone(), [differs]);
        Assert.Contains($"index {differs}) has label", Assert.Throws<ArgumentException>(() => method.Loss(model, handBuilt)).Message);

        Assert.Equal(before, System.Text.Json.JsonSerializer.Serialize(method.GetState(), StateJson));   // nothing drawn or counted
        using var good = data.Train.GetBatch([another, differs]);   // the method's own split still trains
        using (method.Loss(model, good)) { }
        Assert.Equal(2, method.EndEpoch().Samples);
    }

    [Theory]
    [MemberData(nameof(Kinds))]
    public void Inputs_with_NaN_or_infinity_are_refused_at_the_door_naming_the_row_and_change_nothing(string kind)
    {
        using var data = MethodFactory.Data(100);
        using var method = MethodFactory.Make(kind, data, new SeedSource(0));
        using var model = MethodFactory.ModelFor(kind, 0);
        method.BeginEpoch(1, 2);
        var before = System.Text.Json.JsonSerializer.Serialize(method.GetState(), StateJson);
        using var own = data.Train.GetBatch([3, 4, 5]);
        foreach (var bad in new[] { float.PositiveInfinity, float.NaN, float.NegativeInfinity })
        {
            using var inputs = own.Inputs.clone();
            inputs[1, 0] = bad;
            using var poisoned = new Batch(inputs, own.Labels.clone(), own.Groups?.clone(), [3, 4, 5]);
            var ex = Assert.Throws<ArgumentException>(() => method.Loss(model, poisoned));
            Assert.Equal("batch", ex.ParamName);
            Assert.Contains("non-finite value (NaN or infinity) in row 1 (sample 4)", ex.Message);
        }
        Assert.Equal(before, System.Text.Json.JsonSerializer.Serialize(method.GetState(), StateJson));
        using (method.Loss(model, own)) { }
        Assert.Equal(3, method.EndEpoch().Samples);
    }

    private static readonly System.Text.Json.JsonSerializerOptions StateJson = new() { NumberHandling = System.Text.Json.Serialization.JsonNumberHandling.AllowNamedFloatingPointLiterals };

    [Fact]
    public void Misuse_of_the_contract_gets_clear_exceptions_and_changes_nothing()
    {
        using var data = MethodFactory.Data(100);
        using var other = MethodFactory.Data(120);
        using var method = MethodFactory.Make("jm1", data, new SeedSource(0));
        using var model = MethodFactory.Model(0);
        using var batch = data.Train.GetBatch([0, 1, 2]);
        Assert.Contains("No epoch was begun", Assert.Throws<InvalidOperationException>(() => method.Loss(model, batch)).Message);
        Assert.Contains("EndEpoch closes", Assert.Throws<InvalidOperationException>(() => method.EndEpoch()).Message);
        var e1 = Assert.Throws<ArgumentOutOfRangeException>(() => method.BeginEpoch(4, 3));
        Assert.Contains("numbered from 1", Assert.Throws<ArgumentOutOfRangeException>(() => method.BeginEpoch(0, 3)).Message);
        Assert.Equal("epoch", e1.ParamName);
        Assert.Contains("[1, 3]", e1.Message);
        Assert.Equal("totalEpochs", Assert.Throws<ArgumentOutOfRangeException>(() => method.BeginEpoch(1, 0)).ParamName);
        method.BeginEpoch(1, 3);
        Assert.Contains("not ended", Assert.Throws<InvalidOperationException>(() => method.BeginEpoch(2, 3)).Message);
        using var foreign = other.Train.GetBatch([105, 106]);
        var e2 = Assert.Throws<ArgumentException>(() => method.Loss(model, foreign));
        Assert.Contains("index 105, outside the method's training split of 100 samples", e2.Message);

        var before = method.GetState();
        using var erm = MethodFactory.Make("erm", data, new SeedSource(0));
        Assert.Contains("belongs to a 'erm' method; this one is 'mixing'", Assert.Throws<ArgumentException>(() => method.SetState(erm.GetState())).Message);
        var broken = before with { Values = before.Values.Where(kv => kv.Key != "mixing/statistics").ToDictionary() };
        Assert.Contains("no 'mixing/statistics' entry", Assert.Throws<ArgumentException>(() => method.SetState(broken)).Message);
        MethodState WithPosition(MethodState s, double[] position)
            => s with { Values = s.Values.Select(kv => kv.Key == "epoch" ? KeyValuePair.Create(kv.Key, position) : kv).ToDictionary() };
        foreach (var position in new double[][] { [0, 3, 1, 0], [4, 3, 0, 0], [1, 0, 0, 0], [1.5, 3, 0, 0], [1, 1e10, 0, 0], [1, 3, 2, 0], [1, 3, 0, -1], [1, 3, 0, double.NaN] })
            Assert.Contains("epoch position is invalid", Assert.Throws<ArgumentException>(() => method.SetState(WithPosition(before, position))).Message);
        Assert.Contains("version 7", Assert.Throws<ArgumentException>(() => method.SetState(before with { Version = 7 })).Message);
        Assert.Contains("numbered from 0", Assert.Throws<ArgumentException>(() => method.SetState(before with { Version = 1 })).Message);
        var json = new System.Text.Json.JsonSerializerOptions { NumberHandling = System.Text.Json.Serialization.JsonNumberHandling.AllowNamedFloatingPointLiterals };
        Assert.Equal(System.Text.Json.JsonSerializer.Serialize(before, json), System.Text.Json.JsonSerializer.Serialize(method.GetState(), json));

        var groups = GroupAssignment.FromErrorIndices([1], other.Train, "other");
        Assert.Contains("another dataset", Assert.Throws<ArgumentException>(() => Jm1Method.Jm1(data.Train, groups, new SeedSource(0))).Message);
        Assert.Contains("IMixingCandidates", Assert.Throws<ArgumentException>(() =>
        {
            using var random = Jm1Method.Jm1(data.Train, GroupAssignment.FromTrueGroups(data.Train), new SeedSource(0), new Jm1Options { Layer = MixingLayer.Random() });
            random.BeginEpoch(1, 1);
            random.Loss(model, batch);
        }).Message);
        Assert.Equal("UpsampleLambda", Assert.Throws<ArgumentOutOfRangeException>(() => Jm1Method.Jm1Plus(data.Train, groups.Count == data.Train.Count ? groups : GroupAssignment.FromTrueGroups(data.Train), -5, new SeedSource(0))).ParamName);
        Assert.Equal("alpha", Assert.Throws<ArgumentOutOfRangeException>(() => new CvarDroMethod(data.Train, new SeedSource(0), 0)).ParamName);
    }

    [Fact]
    public void An_identified_error_set_drives_GroupDRO_and_group_balanced_sampling()
    {
        using var data = MethodFactory.Data(600);
        using var model = MethodFactory.Model(0);
        TestTraining.Erm(model, data.Train, 2);
        var errorSet = new MisclassificationIdentifier(model).Identify(data.Train);
        Assert.Equal(GroupSource.Inferred, errorSet.Source);
        Assert.True(errorSet.MinorityCount > 0);

        var sampler = new GroupBalancedSampler(errorSet, 3);
        var drawn = sampler.IndicesForEpoch(1).GroupBy(i => errorSet.GroupOf(i)).ToDictionary(g => g.Key, g => g.Count());
        var nonEmpty = Enumerable.Range(0, errorSet.NumGroups).Where(g => errorSet.MembersOf(g).Length > 0).ToArray();
        Assert.Equal(nonEmpty, drawn.Keys.Order());
        foreach (var g in nonEmpty) Assert.InRange(drawn[g], 600 / nonEmpty.Length * 0.7, 600 / nonEmpty.Length * 1.3);

        using var dro = new GroupDroMethod(errorSet, new SeedSource(1), new GroupRobust.Methods.GroupDroOptions { StepSize = 0.5 });
        Assert.Equal(LabelBudget.None, dro.LabelBudget);
        Assert.Equal(errorSet.GroupCounts(), dro.RobustLoss.GroupCounts);
        using var fresh = MethodFactory.Model(1);
        using var opt = torch.optim.SGD(fresh.parameters(), 0.1);
        MethodFactory.Train(dro, fresh, opt, data.Train, 0, 1, 1);
        var q = dro.RobustLoss.Snapshot().Q;
        Assert.Equal(1.0, q.Sum(), 1e-9);
        Assert.NotEqual(0.25, q[0], 6); // the weights moved with the inferred groups' losses
        using var evaluator = new WorstGroupEvaluator(errorSet.Scheme);
        var perInferred = evaluator.Evaluate(fresh, data.Train, errorSet);
        Assert.Equal(errorSet.GroupCounts(), perInferred.Groups.Select(g => g.Count));
        Assert.Contains("error set", perInferred.Groups[1].Name);
    }

    [Fact]
    public void An_identifier_with_three_groups_per_class_works_with_every_consumer()
    {
        using var data = MethodFactory.Data(300);
        var labels = data.Train.Labels.Span;
        var values = Enumerable.Range(0, data.Train.Count).Select(i => i % 3).ToArray();
        var groups = GroupAssignment.FromInferred(values, labels, 2, 3, minorityGroups: [1, 2, 5], "three-way");
        Assert.Equal(6, groups.NumGroups);
        Assert.Equal(GroupSource.Inferred, groups.Source);

        // JTT upsamples the minority groups' members
        var jtt = new JttReweighter(groups, 2, 0);
        Assert.Equal(groups.Count + 2L * groups.MinorityCount, jtt.EpochLength);
        Assert.All(Enumerable.Range(0, groups.Count), i => Assert.Equal(groups.IsMinority(i) ? 3 : 1, jtt.Multiplicity(i)));

        // JM1 partners: same class, another group
        var mixer = new ClassConditionalMixer(groups, new ReproducibleRandom(0));
        var idx = Enumerable.Range(0, 64).Select(i => (long)i).ToArray();
        var plan = mixer.DrawPartners(idx);
        for (int i = 0; i < idx.Length; i++)
        {
            Assert.True(plan.Mixed[i]);
            Assert.Equal(groups.LabelOf(idx[i]), groups.LabelOf(plan.PartnerIndices[i]));
            Assert.NotEqual(groups.GroupOf(idx[i]), groups.GroupOf(plan.PartnerIndices[i]));
            Assert.Equal(groups.IsMinority(idx[i]), plan.OnMinoritySide[i]);
        }

        // group-balanced sampling over six groups, GroupDRO over six groups, GroupJM1, evaluation per group
        var drawn = new GroupBalancedSampler(groups, 1).IndicesForEpoch(1).GroupBy(groups.GroupOf).ToDictionary(g => g.Key, g => g.Count());
        Assert.Equal(6, drawn.Count);
        using var model = MethodFactory.Model(0);
        using var opt = torch.optim.SGD(model.parameters(), 0.05);
        foreach (ITrainingMethod method in new ITrainingMethod[]
                 {
                     new GroupDroMethod(groups, new SeedSource(0)), Jm1Method.Jm1(data.Train, groups, new SeedSource(0)),
                     new JttMethod(groups, 1, new SeedSource(0)), new GroupJm1Method(data.Train, groups, new SeedSource(0), robustLoss: new GroupDroLoss(groups)),
                 })
        {
            using (method)
            {
                MethodFactory.Train(method, model, opt, data.Train, 0, 1, 1);
                Assert.Equal(LabelBudget.None, method.LabelBudget);
            }
        }
        using var evaluator = new WorstGroupEvaluator(groups.Scheme);
        var result = evaluator.Evaluate(model, data.Train, groups);
        Assert.Equal(6, result.Groups.Count);
        Assert.Equal(groups.GroupCounts(), result.Groups.Select(g => g.Count));
        using var binary = new WorstGroupEvaluator(data.Scheme);
        Assert.Contains("create the evaluator with the assignment's Scheme", Assert.Throws<ArgumentException>(() => binary.Evaluate(model, data.Train, groups)).Message);

        // and it persists
        using var dir = new TempDirectory();
        groups.Save(dir.File("g.csv"));
        var loaded = GroupAssignment.Load(dir.File("g.csv"), data.Train);
        Assert.Equal(groups.Groups.ToArray(), loaded.Groups.ToArray());
        Assert.Equal(groups.MinorityGroups, loaded.MinorityGroups);
        Assert.Equal(groups.Scheme, loaded.Scheme);
    }
}
