using GroupRobust.Data;
using GroupRobust.Evaluation;
using GroupRobust.Groups;
using GroupRobust.Randomness;
using GroupRobust.Methods;
using GroupRobust.Models;
using GroupRobust.Tests.TestSupport;
using GroupRobust.Training;
using TorchSharp;
using Xunit.Abstractions;
using static TorchSharp.torch;

namespace GroupRobust.Tests.Methods;

public class AfrTests(ITestOutputHelper output)
{
    /// <summary>
    /// DFR's planted problem (2-D inputs as features, the spurious coordinate 3x easier), split as AFR does: ERM on the
    /// first 80% of the training split, the last 20% held out for the reweighted last layer.
    /// </summary>
    private sealed class Setup : IDisposable
    {
        public Setup(int seed = 0)
        {
            Data = DfrTests.Planted(seed);
            var train = (TensorGroupDataset)Data.Train;
            int cut = train.Count * 8 / 10;
            using var first = train.Subset([.. Enumerable.Range(0, cut).Select(i => (long)i)]);
            HeldOut = train.Subset([.. Enumerable.Range(cut, train.Count - cut).Select(i => (long)i)]);
            Initial = DfrTests.ErmHead(first, seed);
        }

        public DatasetSplits Data { get; }

        public TensorGroupDataset HeldOut { get; }

        public TensorGroupDataset Validation => (TensorGroupDataset)Data.Validation;

        public LinearHead Initial { get; }

        public void Dispose()
        {
            HeldOut.Dispose();
            Data.Dispose();
        }
    }

    /// <summary>The last layer as a module whose final Linear is found by name ("fc").</summary>
    private static nn.Module<Tensor, Tensor> HeadModel(LinearHead head)
    {
        var model = nn.Sequential(("fc", nn.Linear(head.Features, head.Classes)));
        head.Load(model);
        return model;
    }

    private static double[] TrueClassProbability(LinearHead head, TensorGroupDataset data)
    {
        using var scope = NewDisposeScope();
        var labels = torch.tensor(data.Labels.ToArray().Select(v => (long)v).ToArray());
        return nn.functional.softmax(head.Logits(data.Inputs.to(ScalarType.Float64)), 1).gather(1, labels.unsqueeze(1)).squeeze(1).data<double>().ToArray();
    }

    private static Batch Everything(IGroupDataset data) => data.GetBatch([.. Enumerable.Range(0, data.Count).Select(i => (long)i)]);

    [Fact]
    public void Weights_favour_the_samples_the_initial_head_gets_wrong_and_sum_to_one()
    {
        using var s = new Setup();
        const double gamma = 4;
        using var method = new AfrMethod(s.HeldOut, s.Initial, new SeedSource(0), new AfrOptions { Gamma = gamma });
        var w = method.SampleWeights();
        Assert.Equal(s.HeldOut.Count, w.Length);
        Assert.Equal(1.0, w.Sum(), 1e-12);
        Assert.All(w, v => Assert.True(v > 0));
        var p = TrueClassProbability(s.Initial, s.HeldOut);
        var labels = s.HeldOut.Labels.ToArray();
        int n = labels.Length;
        var classCount = new[] { labels.Count(y => y == 0), labels.Count(y => y == 1) };
        // w_i = exp(-gamma p_i) (N / N_y) / Z: the ratio to the unnormalised weight is one constant
        var ratios = Enumerable.Range(0, n).Select(i => w[i] / (Math.Exp(-gamma * p[i]) * n / classCount[labels[i]])).ToArray();
        Assert.All(ratios, r => Assert.Equal(ratios[0], r, 1e-9 * ratios[0]));
        // within a class, a smaller p_y means a larger weight; misclassified samples (p_y < 1/2) outweigh every correct one
        for (int c = 0; c < 2; c++)
        {
            var members = Enumerable.Range(0, n).Where(i => labels[i] == c).OrderBy(i => p[i]).ToArray();
            for (int k = 1; k < members.Length; k++) Assert.True(w[members[k]] <= w[members[k - 1]]);
            var wrong = members.Where(i => p[i] < 0.5).ToArray();
            var right = members.Where(i => p[i] >= 0.5).ToArray();
            Assert.NotEmpty(wrong);
            Assert.True(wrong.Min(i => w[i]) > right.Max(i => w[i]));
        }
        // which are the true minority groups: they carry far more weight per sample than the majority
        var groups = s.HeldOut.Groups.ToArray();
        double Mean(Func<int, bool> inGroup) => Enumerable.Range(0, n).Where(inGroup).Average(i => w[i]);
        double minority = Mean(i => groups[i] is 1 or 2), majority = Mean(i => groups[i] is 0 or 3);
        output.WriteLine($"mean AFR weight (gamma {gamma}): minority {minority:E3}, majority {majority:E3}");
        Assert.True(minority > 2 * majority, $"minority {minority:E3} vs majority {majority:E3}");
        // gamma = 0 without rebalancing: uniform
        using var uniform = new AfrMethod(s.HeldOut, s.Initial, new SeedSource(0), new AfrOptions { Gamma = 0, RebalanceClasses = false });
        Assert.All(uniform.SampleWeights(), v => Assert.Equal(1.0 / n, v, 1e-15));
    }

    [Fact]
    public void A_huge_gamma_gives_finite_weights_on_the_least_confident_samples_not_NaN()
    {
        using var s = new Setup();
        // exp(-gamma p) underflows to 0 for every sample once gamma p > 745: before, the weights were 0 / 0 = NaN
        using var method = new AfrMethod(s.HeldOut, s.Initial, new SeedSource(0), new AfrOptions { Gamma = 1e5 });
        var w = method.SampleWeights();
        Assert.All(w, v => Assert.True(double.IsFinite(v) && v >= 0));
        Assert.Equal(1.0, w.Sum(), 1e-9);
        // the limit of the softmax: all the mass on the samples whose true-class probability (with the class factor) is lowest
        var p = TrueClassProbability(s.Initial, s.HeldOut);
        int argmin = Array.IndexOf(p, p.Min());
        Assert.True(w[argmin] > 0.5 / Math.Max(1, p.Count(v => v == p.Min())), $"weight {w[argmin]} on the least confident sample");
    }

    [Fact]
    public void Class_rebalancing_equalises_the_class_totals_at_gamma_zero()
    {
        using var s = new Setup(1);
        // an unbalanced held-out set: every class-1 sample, a third of class 0
        var labels = s.HeldOut.Labels.ToArray();
        int zeros = 0;
        var rows = Enumerable.Range(0, labels.Length).Where(i => labels[i] == 1 || zeros++ % 3 == 0).Select(i => (long)i).ToArray();
        using var uneven = s.HeldOut.Subset(rows);
        var y = uneven.Labels.ToArray();
        Assert.True(y.Count(v => v == 1) > 2 * y.Count(v => v == 0));
        using var method = new AfrMethod(uneven, s.Initial, new SeedSource(0), new AfrOptions { Gamma = 0 });
        var w = method.SampleWeights();
        double total0 = Enumerable.Range(0, y.Length).Where(i => y[i] == 0).Sum(i => w[i]);
        double total1 = Enumerable.Range(0, y.Length).Where(i => y[i] == 1).Sum(i => w[i]);
        Assert.Equal(0.5, total0, 1e-12);
        Assert.Equal(0.5, total1, 1e-12);
        // without rebalancing the totals follow the class sizes
        using var plain = new AfrMethod(uneven, s.Initial, new SeedSource(0), new AfrOptions { Gamma = 0, RebalanceClasses = false });
        var u = plain.SampleWeights();
        Assert.Equal((double)y.Count(v => v == 0) / y.Length, Enumerable.Range(0, y.Length).Where(i => y[i] == 0).Sum(i => u[i]), 1e-12);
    }

    [Fact]
    public void The_loss_is_the_weighted_cross_entropy_plus_the_pull_towards_the_initial_head()
    {
        using var s = new Setup(2);
        const double lambda = 0.5;
        using var pulled = new AfrMethod(s.HeldOut, s.Initial, new SeedSource(0), new AfrOptions { Gamma = 6, Lambda = lambda });
        using var free = new AfrMethod(s.HeldOut, s.Initial, new SeedSource(0), new AfrOptions { Gamma = 6, Lambda = 0 });
        Assert.Equal(LabelBudget.None, pulled.LabelBudget);
        using var model = HeadModel(s.Initial);
        var w = pulled.SampleWeights();
        var order = pulled.BeginEpoch(1, 1);
        Assert.Equal(Enumerable.Range(0, s.HeldOut.Count).Select(i => (long)i), order);   // the fixed order 0..N-1
        free.BeginEpoch(1, 1);
        using var scope = NewDisposeScope();
        using var batch = Everything(s.HeldOut);

        double Loss(AfrMethod method) => method.Loss(model, batch).item<float>();
        // at the initial head the pull is 0: the loss is sum_i w_i CE_i
        double[] ce;
        using (torch.no_grad())
            ce = nn.functional.cross_entropy(model.call(batch.Inputs), batch.Labels, reduction: nn.Reduction.None).to(ScalarType.Float64).data<double>().ToArray();
        double weighted = Enumerable.Range(0, ce.Length).Sum(i => w[i] * ce[i]);
        Assert.Equal(weighted, Loss(pulled), 1e-5);
        Assert.Equal(weighted, Loss(free), 1e-5);

        // move the head: W += 0.3, b -= 0.2; the difference is lambda (||dW||^2 + ||db||^2) = lambda (4 x 0.09 + 2 x 0.04)
        var fc = (TorchSharp.Modules.Linear)model.named_modules().First(m => m.name == "fc").module;
        using (torch.no_grad())
        {
            fc.weight!.add_(0.3);
            fc.bias!.sub_(0.2);
        }
        double moved = Loss(pulled), movedFree = Loss(free);
        Assert.Equal(lambda * (4 * 0.09 + 2 * 0.04), moved - movedFree, 1e-5);
        Assert.True(moved > Loss(free));
        // and the pull's gradient points back at W0: d/dW lambda ||W - W0||^2 = 2 lambda (W - W0)
        using (torch.no_grad()) fc.weight!.grad?.zero_();
        model.zero_grad();
        pulled.Loss(model, batch).backward();
        var pulledGrad = fc.weight!.grad!.clone();
        model.zero_grad();
        free.Loss(model, batch).backward();
        var freeGrad = fc.weight!.grad!.clone();
        Assert.True((pulledGrad - freeGrad).allclose(torch.full_like(freeGrad, 2 * lambda * 0.3), rtol: 0, atol: 1e-5));
        pulled.EndEpoch();
        free.EndEpoch();
    }

    [Fact]
    public void Training_the_last_layer_with_afr_raises_the_validation_worst_group()
    {
        using var s = new Setup(3);
        using var head = HeadModel(s.Initial);
        using var method = new AfrMethod(s.HeldOut, s.Initial, new SeedSource(1), new AfrOptions { Gamma = 6 });
        using var sgd = torch.optim.SGD(head.parameters(), 0.5);
        var history = TrainingLoop.Run(method, head, sgd, s.HeldOut, s.Validation, new TrainingLoopOptions
        {
            Epochs = 60, BatchSize = s.HeldOut.Count, MaxGradientNorm = 1, Selection = SelectionRule.WorstGroupAccuracy,
            Evaluator = new EvaluatorOptions { BootstrapSamples = 0 },
        });
        double before = DfrTests.WorstGroup(s.Initial, s.Validation);
        double after = history.Best.Validation.WorstGroupAccuracy!.Value;
        output.WriteLine($"validation worst-group: ERM head {before:P1}, AFR (gamma 6, 60 full-batch steps) {after:P1} at step {history.Best.Epoch}");
        Assert.True(after > before + 0.2, $"AFR {after:P1} vs ERM {before:P1}");
        Assert.Equal(LabelBudget.ValidationGroupsForSelection, history.LabelBudget);
        // the best step was restored (the loop scores through nn.Linear in batches of 256, the check through LinearHead in one
        // pass: other kernels, so a logit tie may round the other way; one prediction of the smallest group is the tolerance)
        Assert.Equal(after, DfrTests.WorstGroup(LinearHead.Read(head), s.Validation), OnePrediction(s.Validation));
    }

    /// <summary>One prediction's worth of the smallest non-empty group's accuracy: the tolerance between two computations of the same accuracy through different kernels.</summary>
    private static double OnePrediction(IGroupDataset data)
    {
        var counts = new int[data.Scheme.NumGroups];
        foreach (var g in data.Groups.Span) counts[g]++;
        return 1.0 / counts.Where(c => c > 0).Min();
    }

    [Fact]
    public void The_search_returns_the_best_configuration_and_its_grid_in_order()
    {
        using var s = new Setup(4);
        double[] gammas = [0, 8];
        double[] lambdas = [0, 5];
        var result = AfrSearch.Run(s.HeldOut, s.Validation, s.Initial, new SeedSource(2), new AfrSearchOptions { Gammas = gammas, Lambdas = lambdas, Steps = 20, LearningRate = 0.5 });
        Assert.Equal(new[] { (0.0, 0.0), (0.0, 5.0), (8.0, 0.0), (8.0, 5.0) }, result.Grid.Select(g => (g.Gamma, g.Lambda)));
        output.WriteLine("AFR grid: " + string.Join(", ", result.Grid.Select(g => $"(gamma {g.Gamma}, lambda {g.Lambda}) step {g.Step}: {g.Score:P1}")));
        var best = result.Grid.First(g => g.Score == result.Grid.Max(x => x.Score));   // the first maximum
        Assert.Equal((best.Gamma, best.Lambda, best.Step, best.Score), (result.Gamma, result.Lambda, result.Step, result.ValidationWorstGroup));
        Assert.All(result.Grid, g => Assert.InRange(g.Step, 1, 20));
        Assert.Equal(LabelBudget.ValidationGroupsForSelection, result.LabelBudget);
        // the returned head scores what the search says on validation, and beats the ERM head
        Assert.Equal(result.ValidationWorstGroup, DfrTests.WorstGroup(result.Head, s.Validation), OnePrediction(s.Validation));
        Assert.True(result.ValidationWorstGroup > DfrTests.WorstGroup(s.Initial, s.Validation));
        // every configuration equals its own AfrMethod run through the loop
        var again = AfrSearch.Run(s.HeldOut, s.Validation, s.Initial, new SeedSource(2), new AfrSearchOptions { Gammas = [8.0], Lambdas = [0.0], Steps = 20, LearningRate = 0.5 });
        Assert.Equal(result.Grid[2].Score, again.ValidationWorstGroup);
        Assert.Equal(result.Grid[2].Step, again.Step);
        // a grid value out of range is reported before any configuration trains, naming its place in the grid
        var bad = Assert.Throws<ArgumentOutOfRangeException>(() => AfrSearch.Run(s.HeldOut, s.Validation, s.Initial, new SeedSource(0), new AfrSearchOptions { Gammas = [2.0, -1.0], Lambdas = [0.0], Steps = 1 }));
        Assert.Equal("Gammas", bad.ParamName);
        Assert.Contains("Gammas[1] is -1", bad.Message);
        Assert.Equal("Lambdas", Assert.Throws<ArgumentOutOfRangeException>(() => AfrSearch.Run(s.HeldOut, s.Validation, s.Initial, new SeedSource(0), new AfrSearchOptions { Gammas = [2.0], Lambdas = [double.NaN], Steps = 1 })).ParamName);
    }

    [Fact]
    public void A_bare_linear_layer_is_a_valid_last_layer()
    {
        using var s = new Setup(6);
        using var linear = nn.Linear(2, 2);
        s.Initial.Load(linear);
        Assert.Equal(s.Initial.Bias, LinearHead.Read(linear).Bias);
        using var method = new AfrMethod(s.HeldOut, s.Initial, new SeedSource(0), new AfrOptions { Gamma = 2 });
        method.BeginEpoch(1, 1);
        using var scope = NewDisposeScope();
        using var batch = Everything(s.HeldOut);
        Assert.True(double.IsFinite(method.Loss(linear, batch).item<float>()));
        method.EndEpoch();
    }

    [Fact]
    public void Bad_options_and_inputs_are_rejected()
    {
        using var s = new Setup(5);
        var seeds = new SeedSource(0);
        Assert.Equal("Gamma", Assert.Throws<ArgumentOutOfRangeException>(() => new AfrMethod(s.HeldOut, s.Initial, seeds, new AfrOptions { Gamma = -1 })).ParamName);
        Assert.Equal("Gamma", Assert.Throws<ArgumentOutOfRangeException>(() => new AfrMethod(s.HeldOut, s.Initial, seeds, new AfrOptions { Gamma = double.NaN })).ParamName);
        Assert.Equal("Gamma", Assert.Throws<ArgumentOutOfRangeException>(() => new AfrMethod(s.HeldOut, s.Initial, seeds, new AfrOptions { Gamma = double.PositiveInfinity })).ParamName);
        Assert.Equal("Lambda", Assert.Throws<ArgumentOutOfRangeException>(() => new AfrMethod(s.HeldOut, s.Initial, seeds, new AfrOptions { Lambda = -0.1 })).ParamName);
        Assert.Equal("Lambda", Assert.Throws<ArgumentOutOfRangeException>(() => new AfrMethod(s.HeldOut, s.Initial, seeds, new AfrOptions { Lambda = double.NaN })).ParamName);
        var wrongShape = new LinearHead { Weight = new double[2, 5], Bias = new double[2] };
        Assert.Equal("initial", Assert.Throws<ArgumentException>(() => new AfrMethod(s.HeldOut, wrongShape, seeds)).ParamName);
        var threeClasses = new LinearHead { Weight = new double[3, 2], Bias = new double[3] };
        Assert.Equal("initial", Assert.Throws<ArgumentException>(() => new AfrMethod(s.HeldOut, threeClasses, seeds)).ParamName);
        Assert.Throws<ArgumentNullException>(() => new AfrMethod(null!, s.Initial, seeds));
        Assert.Throws<ArgumentNullException>(() => new AfrMethod(s.HeldOut, null!, seeds));

        Assert.Throws<ArgumentException>(() => AfrSearch.Run(s.HeldOut, s.Validation, s.Initial, seeds, new AfrSearchOptions { Gammas = [], Lambdas = [0.0] }));
        Assert.Throws<ArgumentException>(() => AfrSearch.Run(s.HeldOut, s.Validation, s.Initial, seeds, new AfrSearchOptions { Gammas = [1.0], Lambdas = [] }));
        using (var scope = NewDisposeScope())
        using (var ungrouped = new TensorGroupDataset(s.Validation.Inputs, torch.tensor(s.Validation.Labels.ToArray().Select(v => (long)v).ToArray()), s.Validation.Scheme))
            Assert.Equal("validation", Assert.Throws<ArgumentException>(() => AfrSearch.Run(s.HeldOut, ungrouped, s.Initial, seeds, new AfrSearchOptions { Gammas = [1.0], Lambdas = [0.0] })).ParamName);
        Assert.Equal("Steps", Assert.Throws<ArgumentOutOfRangeException>(() => AfrSearch.Run(s.HeldOut, s.Validation, s.Initial, seeds, new AfrSearchOptions { Gammas = [1.0], Lambdas = [0.0], Steps = 0 })).ParamName);
        Assert.Equal("LearningRate", Assert.Throws<ArgumentOutOfRangeException>(() => AfrSearch.Run(s.HeldOut, s.Validation, s.Initial, seeds, new AfrSearchOptions { Gammas = [1.0], Lambdas = [0.0], LearningRate = 0 })).ParamName);
        Assert.Equal("LearningRate", Assert.Throws<ArgumentOutOfRangeException>(() => AfrSearch.Run(s.HeldOut, s.Validation, s.Initial, seeds, new AfrSearchOptions { Gammas = [1.0], Lambdas = [0.0], LearningRate = double.NaN })).ParamName);

        // a batch from outside the held-out set is refused by the method's contract
        using var method = new AfrMethod(s.HeldOut, s.Initial, seeds);
        using var model = HeadModel(s.Initial);
        method.BeginEpoch(1, 1);
        using var batchScope = NewDisposeScope();
        using var foreign = s.Data.Train.GetBatch([s.HeldOut.Count + 5]);
        Assert.Equal("batch", Assert.Throws<ArgumentException>(() => method.Loss(model, foreign)).ParamName);
    }
}
