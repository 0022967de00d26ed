using GroupRobust.Catalog;
using GroupRobust.Data;
using GroupRobust.Groups;
using GroupRobust.Identification;
using GroupRobust.Randomness;
using GroupRobust.Tests.Methods;
using Xunit.Abstractions;

namespace GroupRobust.Tests.Identification;

public class GeorgeIdentifierTests(ITestOutputHelper output)
{
    [Fact]
    public void A_small_blob_apart_from_its_class_becomes_a_cluster_and_a_plain_blob_is_not_overclustered()
    {
        var rng = new Random(7);
        double Normal() => Math.Sqrt(-2 * Math.Log(1 - rng.NextDouble())) * Math.Cos(2 * Math.PI * rng.NextDouble());
        var x = Enumerable.Range(0, 460).Select(i => i < 400 ? new[] { Normal(), Normal() } : new[] { 8 + Normal(), 8 + Normal() }).ToArray();
        var (clusters, baseCount, score) = GeorgeIdentifier.ClusterClass(x, new Random(1), new Random(2), new GeorgeOptions());
        output.WriteLine($"base {baseCount}, score {score:F3}, final {clusters.Max() + 1}");
        Assert.Equal(2, baseCount);
        Assert.Equal(2, clusters.Max() + 1);
        Assert.True(score > 0.7, $"score {score}");
        // the blobs are the clusters, whatever their numbering
        Assert.Single(clusters.Take(400).Distinct());
        Assert.Single(clusters.Skip(400).Distinct());
        Assert.NotEqual(clusters[0], clusters[459]);
    }

    [Fact]
    public void Clusters_of_the_representation_find_the_planted_minority_and_read_no_label()
    {
        using var data = XrmIdentifierTests.Planted(6);
        using var model = MethodFactory.Model(3);
        var request = new IdentifierRequest { Model = model, Epoch = 1, Seeds = new SeedSource(4) };
        var groups = MethodCatalog.George.Create(request).Identify(data.Train.WithoutGroupLabels());
        var quality = groups.Quality(data.Train);
        output.WriteLine($"GEORGE: {quality}; {groups}; {string.Join(", ", groups.Metadata.Parameters.Select(p => $"{p.Key}={p.Value}"))}");
        // the spurious coordinate separates each class's two groups (scale 3, sigma 0.5); even an untrained network's
        // ReLU features keep that separation
        Assert.True(quality.Precision > 0.8 && quality.Recall > 0.8, quality.ToString());
        Assert.Equal("george", groups.Metadata.Method);
        Assert.Equal(1, groups.Metadata.Epoch);
        Assert.True(groups.Metadata.IdentifiedByLibrary);
        Assert.Equal(LabelBudget.None, groups.TrainingBudget);
        Assert.Equal(LabelBudget.None, MethodCatalog.George.LabelBudget);
        var again = MethodCatalog.George.Create(request).Identify(data.Train);
        Assert.Equal(groups.Groups.ToArray(), again.Groups.ToArray());
        Assert.True(data.Train.HasGroups);
    }

    [Fact]
    public void Options_out_of_range_and_a_representation_that_is_not_finite_are_refused()
    {
        Assert.Equal("Components", Assert.Throws<ArgumentOutOfRangeException>(() => new GeorgeOptions { Components = 0 }.Validate()).ParamName);
        Assert.Equal("MaxClusters", Assert.Throws<ArgumentOutOfRangeException>(() => new GeorgeOptions { MaxClusters = 1 }.Validate()).ParamName);
        Assert.Equal("OverclusterFactor", Assert.Throws<ArgumentOutOfRangeException>(() => new GeorgeOptions { OverclusterFactor = 0 }.Validate()).ParamName);
        Assert.Equal("Restarts", Assert.Throws<ArgumentOutOfRangeException>(() => new GeorgeOptions { Restarts = 0 }.Validate()).ParamName);
        Assert.Equal("SilhouetteSamples", Assert.Throws<ArgumentOutOfRangeException>(() => new GeorgeOptions { SilhouetteSamples = 9 }.Validate()).ParamName);
        using var model = MethodFactory.Model(0);
        Assert.Equal("MaxClusters", Assert.Throws<ArgumentOutOfRangeException>(() => new GeorgeIdentifier(model, new SeedSource(0), new GeorgeOptions { MaxClusters = 40 })).ParamName);
        using (TorchSharp.torch.no_grad()) model.parameters().First().fill_(double.NaN);
        using var data = XrmIdentifierTests.Planted(1);
        var ex = Assert.Throws<ArgumentException>(() => new GeorgeIdentifier(model, new SeedSource(0)).Identify(data.Train));
        Assert.Equal("dataset", ex.ParamName);
        Assert.Contains("NaN", ex.Message);
    }
}
