using GroupRobust.Internal;
using TorchSharp;
using static TorchSharp.torch;
using GroupRobust.Models;

namespace GroupRobust.Methods;

/// <summary>
/// L1-regularised logistic regression with liblinear's objective (scikit-learn's <c>LogisticRegression(penalty="l1",
/// solver="liblinear")</c>, which DFR's reference uses): minimise ||w||_1 + |b| + C sum_i log(1 + exp(-t_i (w . x_i + b)))
/// with t_i in {-1, +1}: a sum over samples (so C interacts with the sample count) and a penalised intercept
/// (intercept_scaling 1). Two classes give one problem; more give one-vs-rest problems, solved together. Solved on the
/// features' device by FISTA (accelerated proximal gradient with soft-thresholding, step 1/L, L = C ||X~||_2^2 / 4 from a
/// power iteration) instead of liblinear's coordinate descent: the same optimum, another path (docs/algorithms.md).
/// </summary>
public static class L1LogisticRegression
{
    /// <summary>
    /// The largest feature magnitude <see cref="Fit(TorchSharp.torch.Tensor, TorchSharp.torch.Tensor, int, double, L1LogisticOptions?)"/> accepts, 1e6. With a penalised intercept on a column of ones, the
    /// step 1/L shrinks with the features' scale squared, so features far beyond the intercept's scale leave the
    /// intercept (and the head) where it started within any practical number of iterations, and their float32 sums can
    /// overflow: such features are refused, not fitted to a constant head. Standardise them first (DFR does, in float64).
    /// </summary>
    public const double MaxFeatureMagnitude = 1e6;

    /// <summary>Fits the model.</summary>
    /// <param name="features">Features [N, D], floating (float64 stays float64; others are solved in float32), finite, of magnitude at most <see cref="MaxFeatureMagnitude"/>.</param>
    /// <param name="labels">Integer labels [N] in [0, <paramref name="classes"/>), on the features' device.</param>
    /// <param name="classes">Number of classes C, at least 2.</param>
    /// <param name="c">Inverse regularisation strength C &gt; 0 (liblinear's C).</param>
    /// <param name="options">Iterations and tolerance; defaults when null.</param>
    /// <returns>
    /// A head with C rows: for two classes row 0 is 0 and row 1 is (w, b), so the logit difference is w . x + b and the
    /// softmax equals the logistic model; for more classes row k is class k's one-vs-rest model.
    /// </returns>
    /// <exception cref="ArgumentException">The shapes or devices do not fit, a label is out of range, or the features are not finite or exceed <see cref="MaxFeatureMagnitude"/>.</exception>
    public static LinearHead Fit(Tensor features, Tensor labels, int classes, double c, L1LogisticOptions? options = null)
        => Fit(features, labels, classes, c, options, boundMagnitude: true);

    /// <summary>
    /// The fit; DFR passes <paramref name="boundMagnitude"/> false: its features are standardised, and a feature nearly
    /// constant on the statistics' split may still reach a large z elsewhere, which the solver handles as before.
    /// </summary>
    internal static LinearHead Fit(Tensor features, Tensor labels, int classes, double c, L1LogisticOptions? options, bool boundMagnitude)
    {
        Guard.Dims(features, 2, nameof(features));
        Guard.Floating(features, nameof(features));
        Guard.Dims(labels, 1, nameof(labels));
        Guard.Integral(labels, nameof(labels));
        Guard.Length(labels, features.shape[0], nameof(labels), nameof(features));
        Guard.SameDevice(features, nameof(features), labels, nameof(labels));
        ArgumentOutOfRangeException.ThrowIfLessThan(classes, 2);
        Guard.IndexRange(labels, classes, nameof(labels), "label");
        if (!(c > 0 && double.IsFinite(c))) throw new ArgumentOutOfRangeException(nameof(c), c, "C must be a finite number > 0.");
        options ??= new L1LogisticOptions();
        options.Validate();
        if (features.shape[0] == 0) throw new ArgumentException("No samples to fit.", nameof(features));
        Guard.FiniteOnAnyDevice(features, nameof(features));
        using var scope = NewDisposeScope();
        double magnitude = boundMagnitude ? features.abs().max().to(ScalarType.Float64).cpu().item<double>() : 0;
        if (magnitude > MaxFeatureMagnitude)
            throw new ArgumentException(string.Create(System.Globalization.CultureInfo.InvariantCulture,
                $"'features' reach magnitude {magnitude:G3}, beyond the solver's bound {MaxFeatureMagnitude:G0} (MaxFeatureMagnitude): the fit would leave a constant head or overflow. Standardise the features first (DFR does, in float64)."), nameof(features));
        using var noGrad = torch.no_grad();
        var dtype = features.dtype == ScalarType.Float64 ? ScalarType.Float64 : ScalarType.Float32;
        var device = features.device;
        long n = features.shape[0], d = features.shape[1];
        var x = torch.cat([features.to(dtype), torch.ones(n, 1, dtype, device)], 1);
        int k = classes == 2 ? 1 : classes;
        var y = labels.to(ScalarType.Int64);
        var targets = classes == 2
            ? (y.eq(1).to(dtype) * 2 - 1).unsqueeze(1)
            : nn.functional.one_hot(y, classes).to(dtype) * 2 - 1;

        // Lipschitz constant of the smooth part's gradient: C * sigma_max(X~)^2 / 4
        var v = torch.ones(d + 1, 1, dtype, device) / Math.Sqrt(d + 1);
        for (int i = 0; i < 30; i++)
        {
            var xv = x.t().matmul(x.matmul(v));
            v = xv / xv.norm().clamp_min(1e-30);
        }
        double sigma2 = x.matmul(v).square().sum().cpu().to(ScalarType.Float64).item<double>();
        double lipschitz = Math.Max(c * sigma2 / 4 * 1.02, 1e-12);
        double step = 1 / lipschitz;

        var w = torch.zeros(d + 1, k, dtype, device);
        var z = w.clone();
        double t = 1;
        for (int it = 1; it <= options.MaxIterations; it++)
        {
            using var iteration = NewDisposeScope();
            var margin = targets * x.matmul(z);
            var gradient = x.t().matmul(targets * torch.sigmoid(-margin)) * (-c);
            var u = z - gradient * step;
            var next = u.sign() * (u.abs() - step).clamp_min(0);
            double tNext = (1 + Math.Sqrt(1 + 4 * t * t)) / 2;
            var zNext = next + (next - w) * ((t - 1) / tNext);
            bool check = it % 25 == 0 || it == options.MaxIterations;
            double change = 0, scale = 0;
            if (check)
            {
                change = (next - w).abs().max().cpu().to(ScalarType.Float64).item<double>();
                scale = next.abs().max().cpu().to(ScalarType.Float64).item<double>();
            }
            w.copy_(next);
            z.copy_(zNext);
            t = tNext;
            if (check && change <= options.Tolerance * Math.Max(1, scale)) break;
        }

        var coefficients = w[..(int)d].t();   // [k, D]
        var intercepts = w[(int)d];           // [k]
        if (classes == 2)
        {
            coefficients = torch.cat([torch.zeros(1, d, dtype, device), coefficients]);
            intercepts = torch.cat([torch.zeros(1, dtype, device), intercepts]);
        }
        return LinearHead.FromTensors(coefficients, intercepts);
    }

    /// <summary>The objective ||w||_1 + |b| + C sum log(1 + exp(-t (w . x + b))) of a two-class head (row 1 minus row 0), for checks.</summary>
    /// <param name="head">A two-class head.</param>
    /// <param name="features">Features [N, D].</param>
    /// <param name="labels">Labels [N] in {0, 1}.</param>
    /// <param name="c">C &gt; 0.</param>
    /// <returns>The objective's value, in float64.</returns>
    public static double Objective(LinearHead head, Tensor features, Tensor labels, double c)
    {
        ArgumentNullException.ThrowIfNull(head);
        if (head.Classes != 2) throw new ArgumentException("The objective is defined here for two-class heads.", nameof(head));
        using var scope = NewDisposeScope();
        using var noGrad = torch.no_grad();
        var x = features.to(ScalarType.Float64);
        var logits = head.Logits(x);
        var margin = (logits[.., 1] - logits[.., 0]) * (labels.eq(1).to(ScalarType.Float64) * 2 - 1);
        double loss = nn.functional.softplus(-margin).sum().cpu().item<double>();
        double l1 = 0;
        for (int j = 0; j < head.Features; j++) l1 += Math.Abs(head.Weight[1, j] - head.Weight[0, j]);
        l1 += Math.Abs(head.Bias[1] - head.Bias[0]);
        return l1 + c * loss;
    }
}
