using GroupRobust.Data;
using GroupRobust.Evaluation;
using GroupRobust.Groups;
using GroupRobust.Methods;
using GroupRobust.Models;
using GroupRobust.Randomness;
using TorchSharp;
using static TorchSharp.torch;

namespace GroupRobust.Tests.Methods;

public class CrtTests
{
    /// <summary>
    /// Features [core, spurious]: the label is the sign of the core feature (noisy), the attribute sets the spurious one;
    /// 95% of each class has the attribute equal to its label. The initial head reads the spurious feature only.
    /// </summary>
    private static (TensorGroupDataset Train, TensorGroupDataset Validation, LinearHead Biased) Task()
    {
        using var scope = NewDisposeScope();
        TensorGroupDataset Split(int n, int seed, double majority)
        {
            var rng = new Random(seed);
            var x = new float[n * 2];
            var y = new long[n];
            var a = new long[n];
            for (int i = 0; i < n; i++)
            {
                y[i] = i % 2;
                a[i] = rng.NextDouble() < majority ? y[i] : 1 - y[i];
                x[2 * i] = (float)((y[i] * 2 - 1) * 1.0 + rng.NextDouble() - 0.5);
                x[2 * i + 1] = (float)((a[i] * 2 - 1) * 2.0 + (rng.NextDouble() - 0.5) * 0.2);
            }
            return new TensorGroupDataset(torch.tensor(x, [n, 2]), torch.tensor(y), GroupScheme.Binary(), torch.tensor(a));
        }
        return (Split(400, 1, 0.95), Split(200, 2, 0.5), new LinearHead { Weight = new double[,] { { 0, -1 }, { 0, 1 } }, Bias = [0, 0] });
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public void Balanced_retraining_lifts_the_worst_group_of_a_head_that_reads_the_spurious_feature(bool reinitialize)
    {
        var (train, validation, biased) = Task();
        using (train)
        using (validation)
        {
            // from a new head (SubpopBench's) or from the biased one trained further
            var options = new CrtOptions { Epochs = 15, LearningRate = 0.05, BatchSize = 50, ReinitializeHead = reinitialize };
            var result = Crt.Run(train, validation, biased, new SeedSource(0), options);
            using var evaluator = new WorstGroupEvaluator(validation.Scheme, new EvaluatorOptions { BootstrapSamples = 0 });
            using var before = nn.Linear(2, 2);
            biased.Load(before);
            double start = evaluator.Evaluate(before, validation).WorstGroupAccuracy!.Value;
            Assert.True(start < 0.1, $"the biased head's worst group is {start}");
            Assert.Equal(15, result.Validation.Count);
            Assert.Equal(SelectionRule.WorstGroupAccuracy.Best(result.Validation).Epoch, result.Epoch);
            Assert.True(result.Validation[result.Epoch - 1].Result.WorstGroupAccuracy > 0.8, $"CRT's worst group is {result.Validation[result.Epoch - 1].Result.WorstGroupAccuracy}");
            using var after = nn.Linear(2, 2);
            result.Head.Load(after);
            Assert.Equal(result.Validation[result.Epoch - 1].Result.WorstGroupAccuracy, evaluator.Evaluate(after, validation).WorstGroupAccuracy);
            Assert.Equal(LabelBudget.TrainingGroups, result.LabelBudget);
            // the same seed gives the same head
            var again = Crt.Run(train, validation, biased, new SeedSource(0), options);
            Assert.Equal(result.Head.Weight.Cast<double>(), again.Head.Weight.Cast<double>());
        }
    }

    [Fact]
    public void A_new_head_is_drawn_from_the_seed_source_and_takes_only_its_shape_from_the_given_one()
    {
        var (train2, validation2, _) = Task();
        using var scope = NewDisposeScope();
        // three features for two classes, so that the bound 1/sqrt(features) is not 1/sqrt(classes)
        TensorGroupDataset Wider(TensorGroupDataset d) => new(torch.cat([d.Inputs, torch.ones(d.Count, 1)], 1),
            torch.tensor(d.Labels.ToArray().Select(v => (long)v).ToArray()), d.Scheme, torch.tensor(d.Groups.ToArray().Select(g => (long)(g % d.Scheme.NumAttributes)).ToArray()));
        using var train = Wider(train2);
        using var validation = Wider(validation2);
        train2.Dispose();
        validation2.Dispose();
        var given = new LinearHead { Weight = new double[,] { { 0, -1, 0 }, { 0, 1, 0 } }, Bias = [0, 0] };
        var other = new LinearHead { Weight = new double[,] { { 3, 1, 2 }, { -2, 5, 1 } }, Bias = [1, -1] };
        // a step too small to move the head: the kept head is the one training started from
        var still = new CrtOptions { Balancing = CrtBalancing.None, Epochs = 1, LearningRate = 1e-30, WeightDecay = 0 };
        var drawn = Crt.Run(train, validation, given, new SeedSource(4), still).Head;
        // nn.Linear's initialisation, weight then bias, uniform in +-1/sqrt(3), from the seed source's stream "head"
        using (var generator = new SeedSource(4).Generator("head"))
        {
            double bound = 1 / Math.Sqrt(3);
            var weight = torch.empty(2, 3).uniform_(-bound, bound, generator).data<float>().ToArray().Select(v => (double)v);
            var bias = torch.empty(2).uniform_(-bound, bound, generator).data<float>().ToArray().Select(v => (double)v);
            Assert.Equal(weight, drawn.Weight.Cast<double>());
            Assert.Equal(bias, drawn.Bias);
        }
        // nothing of the given head but its shape: another given head, the same new one; another seed, another one
        var fromOther = Crt.Run(train, validation, other, new SeedSource(4), still).Head;
        Assert.Equal(drawn.Weight.Cast<double>(), fromOther.Weight.Cast<double>());
        Assert.Equal(drawn.Bias, fromOther.Bias);
        Assert.NotEqual(drawn.Weight.Cast<double>(), Crt.Run(train, validation, given, new SeedSource(5), still).Head.Weight.Cast<double>());
        // trained further, the given head is where training starts
        var kept = Crt.Run(train, validation, other, new SeedSource(4), still with { ReinitializeHead = false }).Head;
        Assert.Equal(other.Weight.Cast<double>(), kept.Weight.Cast<double>());
        Assert.Equal(other.Bias, kept.Bias);
    }

    [Fact]
    public void Each_balancing_reads_the_labels_it_says()
    {
        var (train, validation, biased) = Task();
        using (train)
        using (validation)
        {
            var reweighted = Crt.Run(train, validation, biased, new SeedSource(0), new CrtOptions { Balancing = CrtBalancing.GroupReweighting, Epochs = 2 });
            Assert.Equal(LabelBudget.TrainingGroups, reweighted.LabelBudget);
            var vanilla = Crt.Run(train, validation, biased, new SeedSource(0), new CrtOptions { Balancing = CrtBalancing.None, Epochs = 2 });
            Assert.Equal(LabelBudget.ValidationGroupsForSelection, vanilla.LabelBudget);
            var blind = Crt.Run(train, validation, biased, new SeedSource(0), new CrtOptions { Balancing = CrtBalancing.None, Epochs = 2, Selection = SelectionRule.WorstClassAccuracy });
            Assert.Equal(LabelBudget.None, blind.LabelBudget);
        }
    }

    [Fact]
    public void Bad_options_features_and_heads_are_refused_before_any_training()
    {
        var (train, validation, biased) = Task();
        using (train)
        using (validation)
        {
            CrtResult Run(CrtOptions o, TensorGroupDataset? t = null, LinearHead? h = null) => Crt.Run(t ?? train, validation, h ?? biased, new SeedSource(0), o);
            Assert.Equal("Epochs", Assert.Throws<ArgumentOutOfRangeException>(() => Run(new CrtOptions { Epochs = 0 })).ParamName);
            Assert.Equal("BatchSize", Assert.Throws<ArgumentOutOfRangeException>(() => Run(new CrtOptions { BatchSize = 0 })).ParamName);
            Assert.Equal("LearningRate", Assert.Throws<ArgumentOutOfRangeException>(() => Run(new CrtOptions { LearningRate = double.NaN })).ParamName);
            Assert.Equal("WeightDecay", Assert.Throws<ArgumentOutOfRangeException>(() => Run(new CrtOptions { WeightDecay = -1 })).ParamName);
            Assert.Equal("Balancing", Assert.Throws<ArgumentOutOfRangeException>(() => Run(new CrtOptions { Balancing = (CrtBalancing)9 })).ParamName);
            Assert.Equal("Selection", Assert.Throws<ArgumentException>(() => Run(new CrtOptions { Selection = SelectionRule.ValidationErrorSet() })).ParamName);
            using var scope = NewDisposeScope();
            using var ungrouped = new TensorGroupDataset(train.Inputs, torch.tensor(train.Labels.ToArray().Select(v => (long)v).ToArray()), GroupScheme.Binary());
            var ex = Assert.Throws<ArgumentException>(() => Run(new CrtOptions(), ungrouped));
            Assert.Equal("train", ex.ParamName);
            Assert.Contains("no group labels", ex.Message);
            var wide = new LinearHead { Weight = new double[2, 3], Bias = [0, 0] };
            Assert.Equal("initial", Assert.Throws<ArgumentException>(() => Run(new CrtOptions(), null, wide)).ParamName);
            // a bias short of a class, or a head for another number of classes: refused whether the head is drawn anew or trained further
            foreach (var reinitialize in new[] { true, false })
            {
                var shortBias = Assert.Throws<ArgumentException>(() => Run(new CrtOptions { ReinitializeHead = reinitialize }, null, new LinearHead { Weight = new double[2, 2], Bias = [0] }));
                Assert.Equal("initial", shortBias.ParamName);
                Assert.Contains("it has 2 x 2 weights and 1 biases", shortBias.Message);
                Assert.Equal("initial", Assert.Throws<ArgumentException>(() => Run(new CrtOptions { ReinitializeHead = reinitialize }, null, new LinearHead { Weight = new double[3, 2], Bias = [0, 0, 0] })).ParamName);
            }
        }
    }
}
