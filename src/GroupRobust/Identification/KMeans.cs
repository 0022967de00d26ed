namespace GroupRobust.Identification;

/// <summary>
/// Lloyd's k-means with k-means++ seeding (Arthur and Vassilvitskii, 2007) over row vectors, restarted and the lowest
/// inertia kept, and the silhouette score (Rousseeuw, 1987) of a clustering; squared Euclidean distances accumulated in
/// float64. Deterministic for a <see cref="Random"/>.
/// </summary>
internal static class KMeans
{
    private const int MaxIterations = 300;

    /// <summary>The cluster of every row (0..k-1) and the inertia (sum of squared distances to the centres).</summary>
    public static (int[] Clusters, double Inertia) Fit(double[][] x, int k, int restarts, Random rng)
    {
        int[]? best = null;
        double bestInertia = double.PositiveInfinity;
        for (int r = 0; r < restarts; r++)
        {
            var (clusters, inertia) = Once(x, k, rng);
            if (inertia < bestInertia) (best, bestInertia) = (clusters, inertia);
        }
        return (best!, bestInertia);
    }

    private static (int[] Clusters, double Inertia) Once(double[][] x, int k, Random rng)
    {
        int n = x.Length, d = x[0].Length;
        var centres = new double[k][];
        // k-means++: the first centre uniformly, each next one with probability proportional to its squared distance
        centres[0] = (double[])x[rng.Next(n)].Clone();
        var nearest = x.Select(p => Distance(p, centres[0])).ToArray();
        for (int c = 1; c < k; c++)
        {
            double total = nearest.Sum();
            int pick = n - 1;
            if (total > 0)
            {
                double u = rng.NextDouble() * total, acc = 0;
                for (int i = 0; i < n; i++) { acc += nearest[i]; if (acc >= u) { pick = i; break; } }
            }
            else pick = rng.Next(n);
            centres[c] = (double[])x[pick].Clone();
            for (int i = 0; i < n; i++) nearest[i] = Math.Min(nearest[i], Distance(x[i], centres[c]));
        }
        return Lloyd(x, centres);
    }

    /// <summary>
    /// Lloyd's iterations from <paramref name="centres"/> (changed in place): assign every row to its nearest centre,
    /// stop when no assignment changes (scikit-learn's strict convergence at tol 0), else move each centre to its rows'
    /// mean. Returns the clusters and the inertia. Internal: the reference-fixture test runs it from scikit-learn's
    /// initial centres.
    /// </summary>
    internal static (int[] Clusters, double Inertia) Lloyd(double[][] x, double[][] centres)
    {
        int n = x.Length, d = x[0].Length, k = centres.Length;
        var clusters = new int[n];
        Array.Fill(clusters, -1);
        for (int iteration = 0; iteration < MaxIterations; iteration++)
        {
            bool changed = false;
            for (int i = 0; i < n; i++)
            {
                int arg = 0;
                double min = double.PositiveInfinity;
                for (int c = 0; c < k; c++)
                {
                    double dist = Distance(x[i], centres[c]);
                    if (dist < min) (min, arg) = (dist, c);
                }
                if (clusters[i] != arg) (clusters[i], changed) = (arg, true);
            }
            if (!changed) break;
            var sums = new double[k][];
            var counts = new int[k];
            for (int c = 0; c < k; c++) sums[c] = new double[d];
            for (int i = 0; i < n; i++)
            {
                counts[clusters[i]]++;
                for (int j = 0; j < d; j++) sums[clusters[i]][j] += x[i][j];
            }
            for (int c = 0; c < k; c++)
                if (counts[c] > 0)
                    for (int j = 0; j < d; j++) centres[c][j] = sums[c][j] / counts[c];
                // an emptied cluster keeps its centre (it may win points back); scikit-learn relocates it instead
        }
        double inertia = 0;
        for (int i = 0; i < n; i++) inertia += Distance(x[i], centres[clusters[i]]);
        return (clusters, inertia);
    }

    /// <summary>The mean silhouette of the rows <paramref name="sample"/> (Euclidean distances); 0 when fewer than 2 clusters are used.</summary>
    public static double Silhouette(double[][] x, int[] clusters, IReadOnlyList<int> sample)
    {
        var values = SampleSilhouettes(x, clusters, sample);
        return values is null ? 0 : values.Average();
    }

    /// <summary>
    /// The silhouette of every row of <paramref name="sample"/>, in its order, its distances taken to the other rows of
    /// the sample (scikit-learn's <c>silhouette_samples</c> on that subset; a singleton's is 0); null when the sample uses
    /// fewer than 2 clusters.
    /// </summary>
    public static double[]? SampleSilhouettes(double[][] x, int[] clusters, IReadOnlyList<int> sample)
    {
        int k = clusters.Max() + 1;
        var used = sample.Select(i => clusters[i]).Distinct().Count();
        if (used < 2) return null;
        var result = new double[sample.Count];
        var sums = new double[k];
        var counts = new int[k];
        for (int r = 0; r < sample.Count; r++)
        {
            int i = sample[r];
            Array.Clear(sums);
            Array.Clear(counts);
            foreach (var j in sample)
            {
                if (i == j) continue;
                sums[clusters[j]] += Math.Sqrt(Distance(x[i], x[j]));
                counts[clusters[j]]++;
            }
            int own = clusters[i];
            if (counts[own] == 0) continue;   // a singleton's silhouette is 0
            double a = sums[own] / counts[own], b = double.PositiveInfinity;
            for (int c = 0; c < k; c++)
                if (c != own && counts[c] > 0) b = Math.Min(b, sums[c] / counts[c]);
            result[r] = Math.Max(a, b) > 0 ? (b - a) / Math.Max(a, b) : 0;
        }
        return result;
    }

    private static double Distance(double[] a, double[] b)
    {
        double s = 0;
        for (int j = 0; j < a.Length; j++) { double t = a[j] - b[j]; s += t * t; }
        return s;
    }
}
