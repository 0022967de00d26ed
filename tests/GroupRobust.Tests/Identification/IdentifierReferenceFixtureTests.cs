using System.Text.Json;
using GroupRobust.Catalog;
using GroupRobust.Identification;
using GroupRobust.Methods;
using GroupRobust.Randomness;
using GroupRobust.Tests.TestSupport;
using TorchSharp;
using TorchSharp.Modules;
using Xunit.Abstractions;
using static GroupRobust.Tests.TestSupport.ReferenceFixture;
using static TorchSharp.torch;

namespace GroupRobust.Tests.Identification;

/// <summary>
/// Identification and sampling steps against PyTorch transcriptions of their reference code (eng/make-reference-fixtures.py,
/// fixtures in Fixtures/Reference/Identification): EIIL's environment optimisation, SPARE's sampling weights, SSA's
/// choice of pseudo-labels, the networks BAM and the GCE-biased identifier train before reading their errors, and the
/// clusterings of SPARE and GEORGE against scikit-learn.
/// </summary>
public class IdentifierReferenceFixtureTests(ITestOutputHelper output)
{
    private static JsonElement Fixture(string name) => ReferenceFixture.Load("Identification/" + name);

    [Fact]
    public void The_fixture_folder_holds_the_fixtures_the_script_makes()
    {
        string[] expected = ["bam", "clustering", "eiil", "gce-biased", "misclassified", "spare-sampling", "ssa"];
        Assert.Equal(expected, Directory.GetFiles(Path.Combine(AppContext.BaseDirectory, "Fixtures", "Reference", "Identification"), "*.json")
            .Select(f => Path.GetFileNameWithoutExtension(f)).Order(StringComparer.Ordinal).ToArray());
    }

    [Theory]
    [InlineData("bam")]
    [InlineData("gce-biased")]
    public void The_network_the_identifier_trains_and_its_error_set_match_the_transcription_over_the_same_epochs(string name)
    {
        var root = Fixture(name);
        using var scope = NewDisposeScope();
        using var train = Dataset(root);
        var orders = root.GetProperty("orders").EnumerateArray().Select(Longs).ToArray();
        int epochs = root.GetProperty("epochs").GetInt32(), batchSize = root.GetProperty("batch_size").GetInt32();
        double lr = root.GetProperty("learning_rate").GetDouble();
        nn.Module<Tensor, Tensor> Network() => ReferenceFixture.Network(root.GetProperty("initial"));
        OptimizerHelper Sgd(IEnumerable<Parameter> parameters) => torch.optim.SGD(parameters, lr);
        double worst = double.NaN;
        GroupAssignment groups;
        if (name == "bam")
        {
            var identifier = new BamIdentifier(Network, Sgd, new SeedSource(0),
                new BamOptions { Epochs = epochs, BatchSize = batchSize, AuxiliaryWeight = root.GetProperty("aux_weight").GetDouble() });
            groups = identifier.Identify(train, e => orders[e], (model, auxiliary) => worst = Math.Max(
                CompareParameters(model, root.GetProperty("final"), name),
                Compare(Flatten(root.GetProperty("auxiliary")), auxiliary.detach().flatten().data<float>().ToArray().Select(v => (double)v).ToArray(), "bam: auxiliary logits")));
        }
        else
        {
            var identifier = new BiasedModelIdentifier(Network, Sgd, new SeedSource(0),
                new BiasedModelOptions { Epochs = epochs, BatchSize = batchSize, Q = root.GetProperty("q").GetDouble() });
            groups = identifier.Identify(train, e => orders[e], model => worst = CompareParameters(model, root.GetProperty("final"), name));
        }
        Assert.False(double.IsNaN(worst), "the identifier must show its trained network");
        Assert.Equal(Longs(root.GetProperty("error_set")), groups.MinorityIndices());
        output.WriteLine($"{name}: max deviation {worst:E2} over the final parameters{(name == "bam" ? " and the auxiliary logits" : "")} after {epochs} epochs " +
                         $"of {orders[0].Length} samples; error set ({groups.MinorityCount} samples) equal");
    }

    [Fact]
    public void The_error_set_is_the_phase_one_models_training_errors_as_jtt_reads_them()
    {
        var root = Fixture("misclassified");
        using var scope = NewDisposeScope();
        using var train = Dataset(root);
        using var model = Network(root.GetProperty("model"));
        model.train();   // the pass evaluates in eval mode whatever the model's mode, and leaves it as it was
        var groups = MethodCatalog.Identifiers.Single(e => e.Key == "misclassified").Create(new IdentifierRequest { Model = model, Seeds = new SeedSource(0) }).Identify(train);
        Assert.Equal(Longs(root.GetProperty("error_set")), groups.MinorityIndices());
        Assert.True(model.training);
    }

    [Fact]
    public void Kmeans_silhouettes_and_the_gaussian_mixture_match_scikit_learn_from_the_same_start()
    {
        var root = Fixture("clustering");
        var x = Rows(root.GetProperty("points"));
        var (clusters, inertia) = KMeans.Lloyd(x, Rows(root.GetProperty("initial_centres")));
        Assert.Equal(Longs(root.GetProperty("clusters")).Select(v => (int)v), clusters);
        double worst = Compare([root.GetProperty("inertia").GetDouble()], [inertia], "k-means inertia", 1e-9);
        var sample = Longs(root.GetProperty("sample")).Select(v => (int)v).ToArray();
        worst = Math.Max(worst, Compare(Doubles(root.GetProperty("silhouettes")), KMeans.SampleSilhouettes(x, clusters, sample)!, "silhouette", 1e-9));
        // EM from the k-means assignment, scikit-learn's loop: the same predictions and lower bound
        var (components, lowerBound) = GaussianMixture.Em(x, 3, clusters);
        Assert.Equal(Longs(root.GetProperty("components")).Select(v => (int)v), components);
        worst = Math.Max(worst, Compare([root.GetProperty("lower_bound").GetDouble()], [lowerBound], "mixture lower bound", 1e-9));
        Assert.NotEqual(clusters, components);   // EM moved rows: the comparison reaches past the initial assignment
        output.WriteLine($"Clustering: k-means assignment equal, inertia, {sample.Length} silhouettes and the mixture's lower bound (after " +
                         $"{root.GetProperty("em_iterations").GetInt32()} EM iterations) within {worst:E2}; the mixture's predictions equal");
    }

    [Fact]
    public void Eiil_matches_the_reference_double_backward_optimisation_from_the_same_initial_logits()
    {
        var root = Fixture("eiil");
        using var scope = NewDisposeScope();
        var inputs = Matrix(root.GetProperty("inputs"));
        var labels = torch.tensor(Longs(root.GetProperty("labels")));
        using var net = ReferenceFixture.Network(root.GetProperty("initial"));
        Tensor logits;
        using (torch.no_grad()) logits = net.call(inputs);
        var d = EiilIdentifier.ScaleDerivatives(logits.to(ScalarType.Float64), labels).data<double>().ToArray();
        double worst = Compare(Doubles(root.GetProperty("scale_derivatives")), d, "d");
        var u0 = torch.tensor(Doubles(root.GetProperty("initial_logits")).Select(v => (float)v).ToArray());
        var penalties = Doubles(root.GetProperty("penalties"));
        var start = EiilIdentifier.Penalty(d, u0.sigmoid().to(ScalarType.Float64).data<double>().ToArray());
        worst = Math.Max(worst, Compare([penalties[0]], [start], "initial penalty"));
        var q = EiilIdentifier.Optimize(d, u0, root.GetProperty("steps").GetInt32(), root.GetProperty("learning_rate").GetDouble());
        worst = Math.Max(worst, Compare(Doubles(root.GetProperty("assignment")), q, "assignment after the steps"));
        output.WriteLine($"EIIL: max deviation {worst:E2} over d, the initial penalty and the {q.Length} assignments after {root.GetProperty("steps").GetInt32()} steps " +
                         $"(penalty {penalties[0]:G4} -> {penalties[^1]:G4})");
        Assert.True(penalties[^1] > penalties[0] * 1.5, "the fixture's optimisation must move the assignment for the comparison to mean anything");
    }

    [Fact]
    public void Spare_sampling_draws_each_sample_with_the_references_weight()
    {
        var root = Fixture("spare-sampling");
        var labels = root.GetProperty("labels").EnumerateArray().Select(v => v.GetInt32()).ToArray();
        var values = root.GetProperty("values").EnumerateArray().Select(v => v.GetInt32()).ToArray();
        int k = root.GetProperty("groups_per_class").GetInt32();
        var groups = GroupAssignment.FromInferred(values, labels, labels.Max() + 1, k, [], "spare");
        var sampler = new SpareSampler(groups, Doubles(root.GetProperty("powers")), 0);
        double worst = Compare(Doubles(root.GetProperty("probabilities")), sampler.Probabilities(), "probability");
        output.WriteLine($"SPARE sampling: max deviation {worst:E2} over {labels.Length} samples");
    }

    [Fact]
    public void Ssa_chooses_the_references_pseudo_labels()
    {
        var root = Fixture("ssa");
        using var scope = NewDisposeScope();
        var logits = Matrix(root.GetProperty("logits"));
        var (max, argmax) = logits.softmax(1).max(1);
        var selected = SsaIdentifier.Select(max.data<float>().ToArray(), argmax.data<long>().ToArray(),
            root.GetProperty("labelled_attributes").EnumerateArray().Select(v => v.GetInt64()).ToArray(), root.GetProperty("rarest").GetInt32(),
            root.GetProperty("attributes").GetInt32(), root.GetProperty("threshold").GetDouble(), out var pseudo);
        Assert.Equal(root.GetProperty("selected").EnumerateArray().Select(v => v.GetInt64()), selected);
        Assert.Equal(root.GetProperty("pseudo_labels").EnumerateArray().Select(v => v.GetInt64()), pseudo);
        Assert.True(selected.Length > 3, "the fixture must select from more than one attribute");
    }
}
