using System.Globalization;
using GroupRobust.Data;
using GroupRobust.Randomness;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using TorchSharp;
using static TorchSharp.torch;

namespace GroupRobust.Identification;

/// <summary>
/// SPARE's group inference (Yang et al., 2023, "Identifying Spurious Biases Early in Training through the Lens of
/// Simplicity Bias"): early in training a network's output is shaped by the spurious feature, so within each class the
/// samples cluster by it. Per class, k-means on the phase-I model's outputs (logits), with the number of clusters chosen
/// in 2..<see cref="SpareOptions.MaxClusters"/> by the silhouette score; the groups are the clusters, ranked by size
/// within their class (value 0 the largest), and every cluster but a class's largest is on the minority side. Unlike
/// the 0/1 error, the output's direction says which spurious class pulls a sample, so minority samples the model already
/// gets right are found too, and each minority group (a colour, a background) can get a cluster of its own. Label
/// budget: none.
/// </summary>
/// <remarks>
/// Differences from the reference (SpuCo's <c>SpareInference</c>, which clusters the network's raw outputs, as here):
/// deterministic k-means++ restarts from the seed source; the
/// silhouette on a seeded subset of at most <see cref="SpareOptions.SilhouetteSamples"/> per class. SPARE's own phase II
/// (importance sampling by cluster size, its power set by the silhouette recorded here as "silhouettePerClass") is
/// <c>SpareMethod</c> (catalog "spare-sampling"); JTT and JM1 read the minority side. That side is the library's bridge,
/// not SPARE's: where a class splits into clusters of similar size it is a third to a half of the class and mostly
/// majority samples, and JM1 on it blends the minority away (32 points below ERM on multi-attribute Fashion-MNIST,
/// docs/results.md, "JM1 on SPARE's and GEORGE's clusters"); the recipe warns when such a run never beats phase I on
/// validation. Choose the identifier on validation (<c>TwoPhaseRecipe.TrainOnBestGroups</c>) or train SPARE's sampling.
/// </remarks>
public sealed class SpareIdentifier : IGroupIdentifier, IShardableIdentifier
{
    private readonly nn.Module<Tensor, Tensor> _model;
    private readonly SeedSource _seeds;
    private readonly SpareOptions _options;
    private readonly ILogger _logger;

    /// <summary>Creates the identifier for a trained phase-I model (not owned).</summary>
    /// <param name="model">The phase-I classifier, producing logits [B, C].</param>
    /// <param name="seeds">The seed source of k-means and of the silhouette's subset.</param>
    /// <param name="options">Clusters, restarts, the pass; defaults when null.</param>
    /// <param name="logger">Receives the clusters chosen per class and the error-set summary; <see cref="NullLogger"/> by default.</param>
    /// <exception cref="ArgumentOutOfRangeException">An option is out of range.</exception>
    public SpareIdentifier(nn.Module<Tensor, Tensor> model, SeedSource seeds, SpareOptions? options = null, ILogger? logger = null)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(seeds);
        _model = model;
        _seeds = seeds;
        _options = options ?? new SpareOptions();
        _options.Validate();
        _logger = logger ?? NullLogger.Instance;
    }

    /// <inheritdoc />
    /// <exception cref="ArgumentException">The model's output does not have one logit per class.</exception>
    public GroupAssignment Identify(IGroupDataset dataset) => Identify(dataset, null);

    /// <inheritdoc />
    GroupAssignment IShardableIdentifier.Identify(IGroupDataset dataset, PassShare share) => Identify(dataset, share);

    private GroupAssignment Identify(IGroupDataset dataset, PassShare? share)
    {
        ArgumentNullException.ThrowIfNull(dataset);
        int classes = dataset.Scheme.NumClasses;
        var probabilities = ModelPass.Statistics(_model, dataset, _options.Pass, classes, share,
            (logits, _) => logits.to(ScalarType.Float32).unbind(1));
        var (values, chosen, silhouettes) = Cluster(probabilities, dataset.Labels.Span, classes, _options, _seeds);
        var minority = ClusterGroups.Minority(classes, _options.MaxClusters);
        var parameters = new Dictionary<string, string>
        {
            ["maxClusters"] = _options.MaxClusters.ToString(CultureInfo.InvariantCulture),
            ["clustersPerClass"] = string.Join(",", chosen.Select(k => k.ToString(CultureInfo.InvariantCulture))),
            ["silhouettePerClass"] = string.Join(",", silhouettes.Select(s => s.ToString("F3", CultureInfo.InvariantCulture))),
        };
        for (int y = 0; y < classes; y++)
            _logger.LogInformation("SPARE: class {Class}: {Clusters} clusters (silhouette {Silhouette:F3})", dataset.Scheme.ClassNames[y], chosen[y], silhouettes[y]);
        var p = GroupAssignment.InferredByLibrary(values, dataset, _options.MaxClusters, minority, "spare", _options.Pass.Epoch, parameters,
            ClusterGroups.ValueNames(_options.MaxClusters));
        return IdentificationReport.Report(p, _logger);
    }

    /// <summary>Per class: k-means for k in 2..MaxClusters, the k of the best silhouette (the smaller on ties), clusters ranked by size (ties by their first member).</summary>
    internal static (int[] Values, int[] Clusters, double[] Silhouettes) Cluster(double[][] probabilities, ReadOnlySpan<int> labels, int classes, SpareOptions options, SeedSource seeds)
    {
        int n = labels.Length;
        var values = new int[n];
        var chosen = new int[classes];
        var silhouettes = new double[classes];
        var members = Enumerable.Range(0, classes).Select(_ => new List<int>()).ToArray();
        for (int i = 0; i < n; i++) members[labels[i]].Add(i);
        for (int y = 0; y < classes; y++)
        {
            var pool = members[y];
            if (pool.Count < 2) { chosen[y] = pool.Count; continue; }   // nothing to split
            var x = pool.Select(i => probabilities.Select(column => column[i]).ToArray()).ToArray();
            var rng = seeds.Random($"class-{y}");
            var sample = Enumerable.Range(0, pool.Count).ToList();
            if (sample.Count > options.SilhouetteSamples)
            {
                Shuffling.Shuffle(sample, seeds.Random($"silhouette-{y}"));
                sample = sample.Take(options.SilhouetteSamples).ToList();
            }
            int[]? best = null;
            double bestScore = double.NegativeInfinity;
            int bestK = 1;
            for (int k = 2; k <= Math.Min(options.MaxClusters, pool.Count); k++)
            {
                var (clusters, _) = KMeans.Fit(x, k, options.Restarts, rng);
                double score = KMeans.Silhouette(x, clusters, sample);
                if (score > bestScore) (best, bestScore, bestK) = (clusters, score, k);
            }
            chosen[y] = bestK;
            silhouettes[y] = bestScore;
            var rank = ClusterGroups.RankBySize(best!, bestK);
            for (int j = 0; j < pool.Count; j++) values[pool[j]] = rank[best![j]];
        }
        return (values, chosen, silhouettes);
    }
}
