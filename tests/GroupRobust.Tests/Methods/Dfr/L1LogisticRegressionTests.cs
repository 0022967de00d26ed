using System.Diagnostics;
using GroupRobust.Methods;
using GroupRobust.Models;
using GroupRobust.Recipes;
using GroupRobust.Tests.TestSupport;
using TorchSharp;
using Xunit.Abstractions;
using static TorchSharp.torch;

namespace GroupRobust.Tests.Methods;

public class L1LogisticRegressionTests(ITestOutputHelper output)
{
    /// <summary>Tight solver settings so that the optimality conditions can be checked to 1e-4.</summary>
    private static readonly L1LogisticOptions Tight = new() { MaxIterations = 50_000, Tolerance = 1e-11 };

    /// <summary>
    /// A noisy two-class problem: x ~ N(0, I_6) (float64), P(y = 1) = sigmoid(x . w* + 0.3) with w* = (2, -1.5, 0, 0, 0.5, 0):
    /// overlapping classes (not separable), three informative coordinates and three pure-noise ones.
    /// </summary>
    private static (Tensor X, Tensor Y) Binary(int n = 200, int seed = 0, ScalarType dtype = ScalarType.Float64)
    {
        using var scope = NewDisposeScope();
        using var generator = new torch.Generator((ulong)seed);
        var x = torch.randn([n, 6], dtype: ScalarType.Float64, generator: generator);
        var truth = torch.tensor(new[] { 2.0, -1.5, 0, 0, 0.5, 0 });
        var p = torch.sigmoid(x.matmul(truth) + 0.3);
        var y = torch.rand([n], dtype: ScalarType.Float64, generator: generator).lt(p).to(ScalarType.Int64);
        return (x.to(dtype).MoveToOuterDisposeScope(), y.MoveToOuterDisposeScope());
    }

    private static double[,] Host(Tensor x)
    {
        using var scope = NewDisposeScope();
        var c = x.to(ScalarType.Float64).cpu().contiguous();
        int n = (int)c.shape[0], d = (int)c.shape[1];
        var flat = c.data<double>().ToArray();
        var result = new double[n, d];
        Buffer.BlockCopy(flat, 0, result, 0, flat.Length * sizeof(double));
        return result;
    }

    private static int[] HostLabels(Tensor y) => y.to(ScalarType.Int32).data<int>().ToArray();

    /// <summary>The two-class model (w, b) = row 1 - row 0, the intercept as coordinate D.</summary>
    private static double[] Coefficients(LinearHead head)
    {
        var w = new double[head.Features + 1];
        for (int j = 0; j < head.Features; j++) w[j] = head.Weight[1, j] - head.Weight[0, j];
        w[head.Features] = head.Bias[1] - head.Bias[0];
        return w;
    }

    /// <summary>
    /// Gradient of the smooth part C sum_i log(1 + exp(-t_i (w . x_i + b))) with respect to (w, b), on the host in float64,
    /// written out independently of the solver: -C sum_i t_i x~_i sigmoid(-t_i (w . x~_i)).
    /// </summary>
    private static double[] SmoothGradient(double[] w, double[,] x, int[] y, double c, int positive = 1)
    {
        int n = x.GetLength(0), d = x.GetLength(1);
        var g = new double[d + 1];
        for (int i = 0; i < n; i++)
        {
            double t = y[i] == positive ? 1 : -1;
            double z = w[d];
            for (int j = 0; j < d; j++) z += w[j] * x[i, j];
            double s = 1 / (1 + Math.Exp(t * z));   // sigmoid(-t z)
            for (int j = 0; j < d; j++) g[j] -= c * t * x[i, j] * s;
            g[d] -= c * t * s;
        }
        return g;
    }

    /// <summary>The KKT conditions of min ||v||_1 + smooth(v): grad_j = -sign(v_j) where v_j != 0, |grad_j| &lt;= 1 where v_j = 0.</summary>
    private static (int Zeros, double WorstViolation) Kkt(double[] w, double[] g)
    {
        int zeros = 0;
        double worst = 0;
        for (int j = 0; j < w.Length; j++)
        {
            if (w[j] == 0)
            {
                zeros++;
                worst = Math.Max(worst, Math.Abs(g[j]) - 1);
            }
            else worst = Math.Max(worst, Math.Abs(g[j] + Math.Sign(w[j])));
        }
        return (zeros, worst);
    }

    [Fact]
    public void The_solution_satisfies_the_optimality_conditions_of_the_liblinear_objective()
    {
        var (x, y) = Binary();
        using var _x = x;
        using var _y = y;
        const double c = 0.1;
        var head = L1LogisticRegression.Fit(x, y, 2, c, Tight);
        Assert.Equal(2, head.Classes);
        Assert.Equal(6, head.Features);
        // row 0 is zero: the logit difference is the logistic model
        Assert.All(Enumerable.Range(0, 6), j => Assert.Equal(0.0, head.Weight[0, j]));
        Assert.Equal(0.0, head.Bias[0]);

        var w = Coefficients(head);
        var g = SmoothGradient(w, Host(x), HostLabels(y), c);
        var (zeros, worst) = Kkt(w, g);
        output.WriteLine($"C = {c}: w = [{string.Join(", ", w.Select(v => v.ToString("G5")))}], grad = [{string.Join(", ", g.Select(v => v.ToString("G5")))}], worst KKT violation {worst:E2}");
        Assert.True(worst < 1e-4, $"KKT violated by {worst:E3}");
        // the problem is meaningful: some coordinates are exactly zero (|grad| < 1 there) and the informative ones are not
        Assert.InRange(zeros, 1, 5);
        Assert.True(w[0] > 0 && w[1] < 0, $"w = [{string.Join(", ", w)}]");
        for (int j = 0; j < w.Length; j++)
            if (w[j] == 0) Assert.True(Math.Abs(g[j]) < 1, $"zero coordinate {j} has |grad| {Math.Abs(g[j])}");
    }

    [Fact]
    public void The_objective_is_lower_at_the_solution_than_at_perturbed_heads()
    {
        var (x, y) = Binary(seed: 1);
        using var _x = x;
        using var _y = y;
        const double c = 0.1;
        var head = L1LogisticRegression.Fit(x, y, 2, c, Tight);
        double best = L1LogisticRegression.Objective(head, x, y, c);
        // the objective by hand: ||w||_1 + |b| + C sum log(1 + exp(-t (w.x + b)))
        var w = Coefficients(head);
        var hx = Host(x);
        var hy = HostLabels(y);
        double loss = 0;
        for (int i = 0; i < hy.Length; i++)
        {
            double z = w[6];
            for (int j = 0; j < 6; j++) z += w[j] * hx[i, j];
            loss += Math.Log(1 + Math.Exp(-(hy[i] == 1 ? 1 : -1) * z));
        }
        Assert.Equal(w.Sum(Math.Abs) + c * loss, best, 1e-9);

        var rng = new Random(3);
        foreach (double size in new[] { 1e-3, 1e-2, 0.3 })
        {
            for (int trial = 0; trial < 20; trial++)
            {
                var weight = (double[,])head.Weight.Clone();
                var bias = (double[])head.Bias.Clone();
                if (trial < 7) weight[1, trial % 6] += (trial % 2 == 0 ? 1 : -1) * size;   // one coordinate
                else if (trial == 7) bias[1] += size;
                else
                {
                    for (int j = 0; j < 6; j++) weight[1, j] += size * (rng.NextDouble() * 2 - 1);
                    bias[1] += size * (rng.NextDouble() * 2 - 1);
                }
                double perturbed = L1LogisticRegression.Objective(head with { Weight = weight, Bias = bias }, x, y, c);
                Assert.True(perturbed >= best - 1e-10, $"perturbation {size} (trial {trial}) lowered the objective: {perturbed} < {best}");
            }
        }
        // the zero head is worse too: its objective is C N log 2
        var zero = new LinearHead { Weight = new double[2, 6], Bias = new double[2] };
        Assert.Equal(c * 200 * Math.Log(2), L1LogisticRegression.Objective(zero, x, y, c), 1e-9);
        Assert.True(best < c * 200 * Math.Log(2));
    }

    [Fact]
    public void A_smaller_C_gives_a_sparser_solution()
    {
        var (x, y) = Binary(400, seed: 2);
        using var _x = x;
        using var _y = y;
        var grid = new[] { 1e-4, 0.005, 0.02, 0.1, 1.0 };
        var opts = new L1LogisticOptions { MaxIterations = 20_000, Tolerance = 1e-8 };
        var zeros = grid.Select(c => Coefficients(L1LogisticRegression.Fit(x, y, 2, c, opts)).Count(v => v == 0)).ToArray();
        output.WriteLine($"zeros of (w, b) per C [{string.Join(", ", grid)}]: [{string.Join(", ", zeros)}]");
        for (int i = 1; i < zeros.Length; i++) Assert.True(zeros[i] <= zeros[i - 1], $"zeros [{string.Join(", ", zeros)}] not non-increasing in C");
        // C small enough: (0, 0) is optimal (|grad at 0| = C |X~^T t| / 2 <= 1), so every coefficient is exactly zero
        Assert.Equal(7, zeros[0]);
        Assert.True(zeros[^1] < zeros[1], $"zeros [{string.Join(", ", zeros)}]");
        Assert.True(zeros[^1] <= 2, $"C = 1 should keep the informative coordinates: zeros {zeros[^1]}");
    }

    [Fact]
    public void Three_classes_give_one_vs_rest_rows()
    {
        // three Gaussian blobs in 4-D at (2, 0), (0, 2), (-2, -2) in the first two coordinates, two noise coordinates
        using var scope = NewDisposeScope();
        const int n = 240;
        var noise = Seeded.Normal([n, 4], 5, ScalarType.Float64);
        var labels = torch.tensor(Enumerable.Range(0, n).Select(i => (long)(i % 3)).ToArray());
        var centres = torch.tensor(new[] { 2.0, 0, 0, 0, 0, 2, 0, 0, -2, -2, 0, 0 }, [3, 4]);
        var x = centres.index_select(0, labels) + noise;
        const double c = 0.2;
        var opts = new L1LogisticOptions { MaxIterations = 20_000, Tolerance = 1e-9 };
        var head = L1LogisticRegression.Fit(x, labels, 3, c, opts);
        Assert.Equal(3, head.Classes);
        Assert.Equal(4, head.Features);
        var hx = Host(x);
        var hy = HostLabels(labels);
        for (int k = 0; k < 3; k++)
        {
            // row k equals the two-class fit of "class k against the rest" (its row 1)
            var binaryLabels = labels.eq(k).to(ScalarType.Int64);
            var binary = L1LogisticRegression.Fit(x, binaryLabels, 2, c, opts);
            for (int j = 0; j < 4; j++) Assert.Equal(binary.Weight[1, j], head.Weight[k, j], 1e-5);
            Assert.Equal(binary.Bias[1], head.Bias[k], 1e-5);
            // and the row is optimal for that problem
            var w = new double[5];
            for (int j = 0; j < 4; j++) w[j] = head.Weight[k, j];
            w[4] = head.Bias[k];
            var (_, worst) = Kkt(w, SmoothGradient(w, hx, hy, c, positive: k));
            Assert.True(worst < 1e-4, $"row {k}: KKT violated by {worst:E3}");
        }
        // the rows point at their own blob
        Assert.True(head.Weight[0, 0] > 0 && head.Weight[1, 1] > 0 && head.Weight[2, 0] < 0 && head.Weight[2, 1] < 0);
        var accuracy = head.Logits(x).argmax(1).eq(labels).to(ScalarType.Float64).mean().item<double>();
        Assert.True(accuracy > 0.9, $"training accuracy {accuracy}");
    }

    [Fact]
    public void Float32_and_float64_inputs_reach_the_same_solution_and_fits_are_deterministic()
    {
        var (x64, y) = Binary(seed: 3);
        using var _x = x64;
        using var _y = y;
        using var x32 = x64.to(ScalarType.Float32);
        const double c = 0.05;
        var opts = new L1LogisticOptions { MaxIterations = 20_000, Tolerance = 1e-8 };
        var a = L1LogisticRegression.Fit(x64, y, 2, c, opts);
        var b = L1LogisticRegression.Fit(x32, y, 2, c, opts);
        var wa = Coefficients(a);
        var wb = Coefficients(b);
        for (int j = 0; j < wa.Length; j++) Assert.Equal(wa[j], wb[j], 2e-3);
        // float64 is solved in float64: its KKT conditions hold far tighter than float32 precision allows for float32
        var (_, worst64) = Kkt(wa, SmoothGradient(wa, Host(x64), HostLabels(y), c));
        Assert.True(worst64 < 1e-5, $"float64 KKT violation {worst64:E3}");

        // determinism: the same input gives the same head, bit for bit
        var again = L1LogisticRegression.Fit(x64, y, 2, c, opts);
        Assert.Equal(a.Weight.Cast<double>(), again.Weight.Cast<double>());
        Assert.Equal(a.Bias, again.Bias);
        var again32 = L1LogisticRegression.Fit(x32, y, 2, c, opts);
        Assert.Equal(b.Weight.Cast<double>(), again32.Weight.Cast<double>());
        // integer labels of any width are accepted
        using var y32 = y.to(ScalarType.Int32);
        Assert.Equal(a.Bias, L1LogisticRegression.Fit(x64, y32, 2, c, opts).Bias);
    }

    [Fact]
    public void Bad_input_is_rejected()
    {
        var (x, y) = Binary(20);
        using var _x = x;
        using var _y = y;
        Assert.Equal("c", Assert.Throws<ArgumentOutOfRangeException>(() => L1LogisticRegression.Fit(x, y, 2, 0)).ParamName);
        Assert.Equal("c", Assert.Throws<ArgumentOutOfRangeException>(() => L1LogisticRegression.Fit(x, y, 2, -1)).ParamName);
        Assert.Equal("c", Assert.Throws<ArgumentOutOfRangeException>(() => L1LogisticRegression.Fit(x, y, 2, double.NaN)).ParamName);
        Assert.Equal("c", Assert.Throws<ArgumentOutOfRangeException>(() => L1LogisticRegression.Fit(x, y, 2, double.PositiveInfinity)).ParamName);
        Assert.Equal("classes", Assert.Throws<ArgumentOutOfRangeException>(() => L1LogisticRegression.Fit(x, y, 1, 1)).ParamName);
        Assert.Equal("classes", Assert.Throws<ArgumentOutOfRangeException>(() => L1LogisticRegression.Fit(x, y, 0, 1)).ParamName);
        using (var nan = x.clone())
        {
            nan[3, 2] = torch.tensor(double.NaN);
            Assert.Equal("features", Assert.Throws<ArgumentException>(() => L1LogisticRegression.Fit(nan, y, 2, 1)).ParamName);
            nan[3, 2] = torch.tensor(double.PositiveInfinity);
            Assert.Equal("features", Assert.Throws<ArgumentException>(() => L1LogisticRegression.Fit(nan, y, 2, 1)).ParamName);
        }
        using (var shortLabels = y[..19])
            Assert.Equal("labels", Assert.Throws<ArgumentException>(() => L1LogisticRegression.Fit(x, shortLabels, 2, 1)).ParamName);
        using (var flat = x.flatten())
            Assert.Equal("features", Assert.Throws<ArgumentException>(() => L1LogisticRegression.Fit(flat, y, 2, 1)).ParamName);
        using (var ints = x.to(ScalarType.Int64))
            Assert.Equal("features", Assert.Throws<ArgumentException>(() => L1LogisticRegression.Fit(ints, y, 2, 1)).ParamName);
        using (var floatLabels = y.to(ScalarType.Float32))
            Assert.Equal("labels", Assert.Throws<ArgumentException>(() => L1LogisticRegression.Fit(x, floatLabels, 2, 1)).ParamName);
        using (var matrixLabels = y.unsqueeze(1))
            Assert.Equal("labels", Assert.Throws<ArgumentException>(() => L1LogisticRegression.Fit(x, matrixLabels, 2, 1)).ParamName);
        using (var none = torch.zeros(0, 6, ScalarType.Float64))
        using (var noLabels = torch.zeros(0, ScalarType.Int64))
            Assert.Equal("features", Assert.Throws<ArgumentException>(() => L1LogisticRegression.Fit(none, noLabels, 2, 1)).ParamName);
        Assert.Equal("MaxIterations", Assert.Throws<ArgumentOutOfRangeException>(() => L1LogisticRegression.Fit(x, y, 2, 1, new L1LogisticOptions { MaxIterations = 0 })).ParamName);
        Assert.Equal("Tolerance", Assert.Throws<ArgumentOutOfRangeException>(() => L1LogisticRegression.Fit(x, y, 2, 1, new L1LogisticOptions { Tolerance = 0 })).ParamName);
        Assert.Equal("Tolerance", Assert.Throws<ArgumentOutOfRangeException>(() => L1LogisticRegression.Fit(x, y, 2, 1, new L1LogisticOptions { Tolerance = double.NaN })).ParamName);
        var three = new LinearHead { Weight = new double[3, 6], Bias = new double[3] };
        Assert.Equal("head", Assert.Throws<ArgumentException>(() => L1LogisticRegression.Objective(three, x, y, 1)).ParamName);
    }

    [Fact]
    public void Labels_outside_the_classes_are_rejected()
    {
        // label 2 of a two-class fit (or -1) is neither class; silently treating it as class 0 fits another problem
        var (x, y) = Binary(20);
        using var _x = x;
        using var _y = y;
        using var bad = y.clone();
        bad[0] = torch.tensor(2L);
        Assert.Equal("labels", Assert.Throws<ArgumentOutOfRangeException>(() => L1LogisticRegression.Fit(x, bad, 2, 1)).ParamName);
        bad[0] = torch.tensor(-1L);
        Assert.Equal("labels", Assert.Throws<ArgumentOutOfRangeException>(() => L1LogisticRegression.Fit(x, bad, 2, 1)).ParamName);
        bad[0] = torch.tensor(3L);
        Assert.Equal("labels", Assert.Throws<ArgumentOutOfRangeException>(() => L1LogisticRegression.Fit(x, bad, 3, 1)).ParamName);
    }

    [Fact]
    public void Reports_the_time_of_a_5000_by_2048_fit()
    {
        // DFR's scale on Waterbirds/CelebA: ResNet-50's 2048-d features, a few thousand balanced samples; no timing assertion
        using var scope = NewDisposeScope();
        var x = Seeded.Normal([5000, 2048], 11);
        var truth = Seeded.Normal([2048], 12) * Seeded.Normal([2048], 13).gt(1.5).to(ScalarType.Float32);   // ~7% informative coordinates
        using var generator = new torch.Generator(14);
        var y = torch.rand([5000], generator: generator).lt(torch.sigmoid(x.matmul(truth) / Math.Sqrt(140))).to(ScalarType.Int64);
        var clock = Stopwatch.StartNew();
        var head = L1LogisticRegression.Fit(x, y, 2, 0.1);
        double seconds = clock.Elapsed.TotalSeconds;
        var w = Coefficients(head);
        double accuracy = head.Logits(x).argmax(1).eq(y).to(ScalarType.Float64).mean().item<double>();
        output.WriteLine($"L1 logistic regression, 5000 x 2048 float32 on {x.device}, C = 0.1, default options: {seconds:F2} s; " +
                         $"{w.Count(v => v != 0)} of 2049 coefficients nonzero, training accuracy {accuracy:P1}");
        Assert.True(double.IsFinite(head.Bias[1]));
        Assert.Contains(w, v => v != 0);
    }
}
