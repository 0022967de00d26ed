using GroupRobust.Catalog;
using GroupRobust.Data;
using GroupRobust.Groups;
using GroupRobust.Identification;
using GroupRobust.Randomness;
using GroupRobust.Tests.TestSupport;
using TorchSharp;
using static TorchSharp.torch;

namespace GroupRobust.Tests.Identification;

public class SpareIdentifierTests
{
    /// <summary>Three well separated blobs in 2-D of 60, 30 and 10 points.</summary>
    private static double[][] Blobs(int seed)
    {
        var rng = new Random(seed);
        double N() => Math.Sqrt(-2 * Math.Log(1 - rng.NextDouble())) * Math.Cos(2 * Math.PI * rng.NextDouble());
        var centres = new[] { (0.0, 0.0, 60), (5.0, 0.0, 30), (0.0, 5.0, 10) };
        return centres.SelectMany(c => Enumerable.Range(0, c.Item3).Select(_ => new[] { c.Item1 + 0.3 * N(), c.Item2 + 0.3 * N() })).ToArray();
    }

    [Fact]
    public void K_means_and_the_silhouette_find_three_blobs_ranked_by_size()
    {
        var x = Blobs(1);
        // the identifier's per-class clustering on "probabilities" given as columns: two columns, one class
        var columns = new[] { x.Select(p => p[0]).ToArray(), x.Select(p => p[1]).ToArray() };
        var labels = new int[x.Length];
        var (values, clusters, silhouettes) = SpareIdentifier.Cluster(columns, labels, 1, new SpareOptions(), new SeedSource(3));
        Assert.Equal(3, clusters[0]);   // 2..4 tried, the silhouette picks 3
        Assert.True(silhouettes[0] > 0.8, $"silhouette {silhouettes[0]}");
        Assert.All(values.Take(60), v => Assert.Equal(0, v));    // the largest cluster first
        Assert.All(values.Skip(60).Take(30), v => Assert.Equal(1, v));
        Assert.All(values.Skip(90), v => Assert.Equal(2, v));
        // deterministic for a seed source
        Assert.Equal(values, SpareIdentifier.Cluster(columns, labels, 1, new SpareOptions(), new SeedSource(3)).Values);
        // the silhouette of a perfect split is high, of a random one about 0
        var split = Enumerable.Range(0, x.Length).Select(i => i < 60 ? 0 : i < 90 ? 1 : 2).ToArray();
        var all = Enumerable.Range(0, x.Length).ToArray();
        Assert.True(KMeans.Silhouette(x, split, all) > 0.8);
        var random = Enumerable.Range(0, x.Length).Select(i => i % 3).ToArray();
        Assert.InRange(KMeans.Silhouette(x, random, all), -0.2, 0.1);
    }

    [Fact]
    public void Clusters_of_a_briefly_trained_model_are_groups_within_each_class_and_read_no_label()
    {
        using var splits = XrmIdentifierTests.Planted(2);
        using var model = (nn.Module<Tensor, Tensor>)TestTraining.Linear(2, 2);
        TestTraining.Erm(model, splits.Train, epochs: 1, lr: 0.05);
        var request = new IdentifierRequest { Model = model, Epoch = 1, Seeds = new SeedSource(0) };
        var groups = MethodCatalog.Spare.Create(request with { Options = new SpareOptions { MaxClusters = 3 } }).Identify(splits.Train.WithoutGroupLabels());
        Assert.Equal(2 * 3, groups.Scheme.NumGroups);   // (class, cluster rank) with up to 3 clusters per class
        Assert.True(groups.Metadata.IdentifiedByLibrary);
        Assert.Equal("spare", groups.Metadata.Method);
        Assert.Equal(1, groups.Metadata.Epoch);
        Assert.Equal(GroupSource.Inferred, groups.Source);
        Assert.Equal(LabelBudget.None, MethodCatalog.Spare.LabelBudget);
        // the largest cluster of each class is the majority side, every other one minority
        for (int y = 0; y < 2; y++)
        {
            Assert.False(groups.IsMinorityGroup(3 * y));
            Assert.True(groups.IsMinorityGroup(3 * y + 1));
            // ranked by size: the largest cluster first, at least two clusters per class
            var counts = groups.GroupCounts();
            Assert.True(counts[3 * y] >= counts[3 * y + 1] && counts[3 * y + 1] >= counts[3 * y + 2], string.Join(", ", counts));
            Assert.True(counts[3 * y + 1] > 0, string.Join(", ", counts));
        }
        Assert.Equal("MaxClusters", Assert.Throws<ArgumentOutOfRangeException>(() => new SpareOptions { MaxClusters = 1 }.Validate()).ParamName);
        Assert.Equal("SilhouetteSamples", Assert.Throws<ArgumentOutOfRangeException>(() => new SpareOptions { SilhouetteSamples = 3 }.Validate()).ParamName);
    }
}
