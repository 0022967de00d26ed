namespace GroupRobust.Identification;

/// <summary>
/// A two-component one-dimensional Gaussian mixture fitted by EM (as DivideMix fits per-sample losses with
/// scikit-learn's GaussianMixture, variance floor 5e-4), on the values as they are: a loss is on a scale of its own
/// (nats), so a tight cluster of small losses is not stretched into two modes. Returns each value's posterior probability
/// of the component with the larger mean, or zeros when that component's mean is below a minimum. Deterministic: the
/// components start at the 10th and 90th percentiles.
/// </summary>
internal static class LossMixture
{
    private const double VarianceFloor = 5e-4;
    private const int MaxIterations = 200;
    private const double Tolerance = 1e-8;

    /// <summary>
    /// The posterior of the high component for every value; all zero when the values are constant or fewer than 2, or
    /// when the high component's mean is below <paramref name="minimumHighMean"/> (no second mode worth the name).
    /// </summary>
    public static double[] HighPosterior(IReadOnlyList<double> values, double minimumHighMean = double.NegativeInfinity)
    {
        int n = values.Count;
        var posterior = new double[n];
        if (n < 2) return posterior;
        double min = values.Min(), max = values.Max();
        if (!(max - min > 1e-12)) return posterior;
        var x = values.ToArray();
        var sorted = x.Order().ToArray();
        double[] mean = [sorted[(int)(0.1 * (n - 1))], sorted[(int)(0.9 * (n - 1))]];
        if (mean[1] - mean[0] < 1e-9) (mean[0], mean[1]) = (min, max);
        double[] variance = [Math.Max(Variance(x, x.Average()), VarianceFloor), Math.Max(Variance(x, x.Average()), VarianceFloor)];
        double[] weight = [0.5, 0.5];
        double previous = double.NegativeInfinity;
        var r = new double[n];   // responsibility of the high component
        for (int iteration = 0; iteration < MaxIterations; iteration++)
        {
            // E step, in log space
            double logLikelihood = 0;
            for (int i = 0; i < n; i++)
            {
                double a = Math.Log(weight[0]) + LogNormal(x[i], mean[0], variance[0]);
                double b = Math.Log(weight[1]) + LogNormal(x[i], mean[1], variance[1]);
                double m = Math.Max(a, b);
                double log = m + Math.Log(Math.Exp(a - m) + Math.Exp(b - m));
                r[i] = Math.Exp(b - log);
                logLikelihood += log;
            }
            // M step
            for (int k = 0; k < 2; k++)
            {
                double sum = 0, weighted = 0;
                for (int i = 0; i < n; i++) { double w = k == 1 ? r[i] : 1 - r[i]; sum += w; weighted += w * x[i]; }
                if (sum < 1e-12) return posterior;   // a component emptied: one mode only
                mean[k] = weighted / sum;
                double spread = 0;
                for (int i = 0; i < n; i++) { double w = k == 1 ? r[i] : 1 - r[i]; spread += w * (x[i] - mean[k]) * (x[i] - mean[k]); }
                variance[k] = spread / sum + VarianceFloor;
                weight[k] = sum / n;
            }
            if (logLikelihood - previous < Tolerance * Math.Abs(logLikelihood)) break;
            previous = logLikelihood;
        }
        int high = mean[1] >= mean[0] ? 1 : 0;
        if (mean[high] < minimumHighMean) return posterior;
        for (int i = 0; i < n; i++) posterior[i] = high == 1 ? r[i] : 1 - r[i];
        return posterior;
    }

    private static double Variance(double[] x, double mean) => x.Sum(v => (v - mean) * (v - mean)) / x.Length;

    private static double LogNormal(double x, double mean, double variance) => -0.5 * (Math.Log(2 * Math.PI * variance) + (x - mean) * (x - mean) / variance);
}
