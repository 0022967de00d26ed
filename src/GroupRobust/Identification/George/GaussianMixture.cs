namespace GroupRobust.Identification;

/// <summary>
/// A Gaussian mixture with full covariances fitted by EM (scikit-learn's <c>GaussianMixture</c> defaults: responsibilities
/// initialised from k-means, covariance regularisation 1e-6, tolerance 1e-3 on the mean log-likelihood, at most 100
/// iterations; the restart with the best likelihood kept). Rows are predicted into the component of highest
/// responsibility. Float64 throughout; deterministic for a <see cref="Random"/>.
/// </summary>
internal static class GaussianMixture
{
    private const double Regularisation = 1e-6;
    private const double Tolerance = 1e-3;
    private const int MaxIterations = 100;

    /// <summary>The component of every row (0..k-1; some may be unused) and the mean log-likelihood of the kept fit.</summary>
    public static (int[] Components, double LogLikelihood) Fit(double[][] x, int k, int restarts, Random rng)
    {
        int[]? best = null;
        double bestLikelihood = double.NegativeInfinity;
        for (int r = 0; r < restarts; r++)
        {
            var (init, _) = KMeans.Fit(x, k, 1, rng);
            var (components, likelihood) = Em(x, k, init);
            if (best is null || likelihood > bestLikelihood) (best, bestLikelihood) = (components, likelihood);
        }
        return (best!, bestLikelihood);
    }

    private static (int[] Components, double LogLikelihood) Em(double[][] x, int k, int[] init)
    {
        int n = x.Length, d = x[0].Length;
        var resp = new double[n, k];
        for (int i = 0; i < n; i++) resp[i, init[i]] = 1;
        var weights = new double[k];
        var means = new double[k][];
        var factors = new double[k][,];   // Cholesky factors L of the covariances
        var logDets = new double[k];
        double previous = double.NegativeInfinity, likelihood = double.NegativeInfinity;
        var logProb = new double[k];
        for (int iteration = 0; iteration < MaxIterations; iteration++)
        {
            // M step
            for (int c = 0; c < k; c++)
            {
                double nk = 10 * double.Epsilon;
                var mean = new double[d];
                for (int i = 0; i < n; i++)
                {
                    nk += resp[i, c];
                    for (int j = 0; j < d; j++) mean[j] += resp[i, c] * x[i][j];
                }
                for (int j = 0; j < d; j++) mean[j] /= nk;
                var cov = new double[d, d];
                for (int i = 0; i < n; i++)
                {
                    double w = resp[i, c];
                    if (w == 0) continue;
                    for (int a = 0; a < d; a++)
                    {
                        double da = x[i][a] - mean[a];
                        for (int b = 0; b <= a; b++) cov[a, b] += w * da * (x[i][b] - mean[b]);
                    }
                }
                for (int a = 0; a < d; a++)
                {
                    for (int b = 0; b <= a; b++) cov[a, b] /= nk;
                    cov[a, a] += Regularisation;
                }
                weights[c] = nk / n;
                means[c] = mean;
                (factors[c], logDets[c]) = Cholesky(cov, d);
            }
            // E step
            likelihood = 0;
            for (int i = 0; i < n; i++)
            {
                double max = double.NegativeInfinity;
                for (int c = 0; c < k; c++)
                {
                    logProb[c] = Math.Log(weights[c]) - 0.5 * (d * Math.Log(2 * Math.PI) + logDets[c] + Mahalanobis(x[i], means[c], factors[c], d));
                    max = Math.Max(max, logProb[c]);
                }
                double sum = 0;
                for (int c = 0; c < k; c++) sum += Math.Exp(logProb[c] - max);
                double norm = max + Math.Log(sum);
                likelihood += norm;
                for (int c = 0; c < k; c++) resp[i, c] = Math.Exp(logProb[c] - norm);
            }
            likelihood /= n;
            if (Math.Abs(likelihood - previous) < Tolerance) break;
            previous = likelihood;
        }
        var components = new int[n];
        for (int i = 0; i < n; i++)
        {
            int arg = 0;
            for (int c = 1; c < k; c++) if (resp[i, c] > resp[i, arg]) arg = c;
            components[i] = arg;
        }
        return (components, likelihood);
    }

    /// <summary>The lower-triangular L with L L^T = the (lower-filled) symmetric matrix, and log det (MathNet's Cholesky).</summary>
    private static (double[,] Factor, double LogDet) Cholesky(double[,] a, int d)
    {
        for (int i = 0; i < d; i++)
            for (int j = i + 1; j < d; j++) a[i, j] = a[j, i];
        var cholesky = MathNet.Numerics.LinearAlgebra.Matrix<double>.Build.DenseOfArray(a).Cholesky();
        return (cholesky.Factor.ToArray(), cholesky.DeterminantLn);
    }

    /// <summary>(x - mu)^T Sigma^-1 (x - mu) by forward substitution with the Cholesky factor.</summary>
    private static double Mahalanobis(double[] x, double[] mean, double[,] l, int d)
    {
        Span<double> z = stackalloc double[d];
        double total = 0;
        for (int i = 0; i < d; i++)
        {
            double s = x[i] - mean[i];
            for (int m = 0; m < i; m++) s -= l[i, m] * z[m];
            z[i] = s / l[i, i];
            total += z[i] * z[i];
        }
        return total;
    }
}
