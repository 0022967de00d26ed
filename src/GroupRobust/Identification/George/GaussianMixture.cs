namespace GroupRobust.Identification;

/// <summary>
/// A Gaussian mixture with full covariances fitted by EM (scikit-learn's <c>GaussianMixture</c> defaults and loop:
/// responsibilities initialised from k-means, covariance regularisation 1e-6, tolerance 1e-3 on the mean log-likelihood,
/// at most 100 iterations; the restart with the best likelihood kept). Rows are predicted into the component of highest
/// responsibility under the final parameters. Float64 throughout; deterministic for a <see cref="Random"/>.
/// </summary>
internal static class GaussianMixture
{
    private const double Regularisation = 1e-6;
    private const double Tolerance = 1e-3;
    private const int MaxIterations = 100;
    private const double MachineEpsilon = 2.220446049250313e-16;   // numpy's finfo(float64).eps

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

    /// <summary>
    /// EM from hard initial assignments, in scikit-learn's order (<c>BaseMixture.fit_predict</c>): the parameters of the
    /// initial responsibilities; then per iteration an E step (its mean log-likelihood is the iteration's lower bound) and an
    /// M step, until the bound moves by less than the tolerance; the rows predicted by a last E step with the final
    /// parameters. Returns the components and the last lower bound (scikit-learn's <c>lower_bound_</c>). Internal: the
    /// reference-fixture test runs it from scikit-learn's initial assignments.
    /// </summary>
    internal static (int[] Components, double LogLikelihood) Em(double[][] x, int k, int[] init)
    {
        int n = x.Length, d = x[0].Length;
        var resp = new double[n, k];
        for (int i = 0; i < n; i++) resp[i, init[i]] = 1;
        var model = new Parameters(k);
        MStep(x, resp, model);
        double lowerBound = double.NegativeInfinity;
        for (int iteration = 0; iteration < MaxIterations; iteration++)
        {
            double previous = lowerBound;
            lowerBound = EStep(x, model, resp);
            MStep(x, resp, model);
            if (Math.Abs(lowerBound - previous) < Tolerance) break;
        }
        EStep(x, model, resp);
        var components = new int[n];
        for (int i = 0; i < n; i++)
        {
            int arg = 0;
            for (int c = 1; c < k; c++) if (resp[i, c] > resp[i, arg]) arg = c;
            components[i] = arg;
        }
        return (components, lowerBound);
    }

    /// <summary>The mixture's weights, means and Cholesky factors of the (regularised) covariances.</summary>
    private sealed class Parameters(int k)
    {
        public double[] Weights { get; } = new double[k];
        public double[][] Means { get; } = new double[k][];
        public double[][,] Factors { get; } = new double[k][,];
        public double[] LogDets { get; } = new double[k];
    }

    /// <summary>Weights, means and covariances (plus the regularisation on the diagonal) from the responsibilities.</summary>
    private static void MStep(double[][] x, double[,] resp, Parameters model)
    {
        int n = x.Length, d = x[0].Length, k = model.Weights.Length;
        double total = 0;
        for (int c = 0; c < k; c++)
        {
            double nk = 10 * MachineEpsilon;   // scikit-learn's 10 * finfo(float64).eps, so an emptied component stays finite
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
            model.Weights[c] = nk;
            total += nk;
            model.Means[c] = mean;
            (model.Factors[c], model.LogDets[c]) = Cholesky(cov, d);
        }
        for (int c = 0; c < k; c++) model.Weights[c] /= total;   // as scikit-learn's _m_step: the weights sum to 1
    }

    /// <summary>The responsibilities under the parameters; returns the mean log-likelihood of the rows.</summary>
    private static double EStep(double[][] x, Parameters model, double[,] resp)
    {
        int n = x.Length, d = x[0].Length, k = model.Weights.Length;
        Span<double> logProb = stackalloc double[k];
        double likelihood = 0;
        for (int i = 0; i < n; i++)
        {
            double max = double.NegativeInfinity;
            for (int c = 0; c < k; c++)
            {
                logProb[c] = Math.Log(model.Weights[c]) - 0.5 * (d * Math.Log(2 * Math.PI) + model.LogDets[c] + Mahalanobis(x[i], model.Means[c], model.Factors[c], d));
                max = Math.Max(max, logProb[c]);
            }
            double sum = 0;
            for (int c = 0; c < k; c++) sum += Math.Exp(logProb[c] - max);
            double norm = max + Math.Log(sum);
            likelihood += norm;
            for (int c = 0; c < k; c++) resp[i, c] = Math.Exp(logProb[c] - norm);
        }
        return likelihood / n;
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
