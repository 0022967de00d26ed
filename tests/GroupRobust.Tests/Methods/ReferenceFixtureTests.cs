using System.Globalization;
using System.Text.Json;
using GroupRobust.Catalog;
using GroupRobust.Data;
using GroupRobust.Groups;
using GroupRobust.Identification;
using GroupRobust.Methods;
using GroupRobust.Randomness;
using GroupRobust.Sampling;
using TorchSharp;
using GroupRobust.Tests.TestSupport;
using Xunit.Abstractions;
using static TorchSharp.torch;

namespace GroupRobust.Tests.Methods;

/// <summary>
/// Each method against a PyTorch transcription of its reference code (eng/make-reference-fixtures.py, fixtures in
/// Fixtures/Reference): the same network (LfF: the same pair) from the same parameters, trained by plain SGD through the same batches with
/// the catalog's method, gives every step's loss and the final parameters within 1e-5 (relative to the value's size
/// above 1), and the method's fixed quantities (group weights, margins, class counts) within 1e-9.
/// </summary>
public class ReferenceFixtureTests(ITestOutputHelper output)
{
    private const double Tolerance = 1e-5;

    private static string Folder => Path.Combine(AppContext.BaseDirectory, "Fixtures", "Reference");

    public static TheoryData<string> Fixtures()
    {
        var data = new TheoryData<string>();
        foreach (var f in Directory.GetFiles(Folder, "*.json").Order(StringComparer.Ordinal)) data.Add(Path.GetFileNameWithoutExtension(f));
        return data;
    }

    [Fact]
    public void The_fixture_folder_holds_the_fixtures_the_script_makes()
    {
        // a fixture lost from the build output would silently shrink the theory below
        string[] expected = ["bsoftmax", "cbloss", "coral", "cvar-dro", "erm", "erm-balanced", "erm-balanced-sam", "focal", "irm", "jtt", "jtt-auto", "ldam", "lff", "mmd", "reweight", "reweight-sqrt"];
        Assert.Equal(expected, Directory.GetFiles(Folder, "*.json").Select(f => Path.GetFileNameWithoutExtension(f)).Order(StringComparer.Ordinal).ToArray());
    }

    [Theory]
    [MemberData(nameof(Fixtures))]
    public void The_method_matches_its_reference_transcription_step_by_step(string name)
    {
        using var json = JsonDocument.Parse(File.ReadAllText(Path.Combine(Folder, name + ".json")));
        var root = json.RootElement;
        string key = root.GetProperty("method").GetString()!;
        using var scope = NewDisposeScope();
        var inputs = ReferenceFixture.Matrix(root.GetProperty("inputs"));
        var labels = torch.tensor(ReferenceFixture.Longs(root.GetProperty("labels")), ScalarType.Int64);
        var attributes = torch.tensor(ReferenceFixture.Longs(root.GetProperty("attributes")), ScalarType.Int64);
        using var train = new TensorGroupDataset(inputs, labels, new GroupScheme(root.GetProperty("num_classes").GetInt32(), root.GetProperty("num_attributes").GetInt32()), attributes);
        var entry = MethodCatalog.Method(key);
        var extras = root.GetProperty("extras");
        // JTT trains on the fixture's error set; every other method that takes groups on the true ones
        var groups = extras.TryGetProperty("error_set", out var errorSet)
            ? GroupAssignment.FromErrorIndices(ReferenceFixture.Longs(errorSet), train, "fixture")
            : entry.TakesGroups ? GroupAssignment.FromTrueGroups(train) : null;
        using var method = entry.Create(new MethodRequest
        {
            Train = train,
            Groups = groups,
            Seeds = new SeedSource(0),
            Options = Options(key, root.GetProperty("options")),
        });
        // the entry's model from the fixture's network (LfF: a pair of them, "debiased" and "biased")
        using var model = entry.CreateModel(_ => nn.Sequential(("lin1", nn.Linear(3, 4)), ("act", nn.ReLU()), ("fc", nn.Linear(4, 3))), new SeedSource(0));
        ReferenceFixture.LoadParameters(model, root.GetProperty("initial"));
        using var optimizer = torch.optim.SGD(model.parameters(), root.GetProperty("learning_rate").GetDouble());

        double worst = CheckExtras(method, extras, train);
        var expected = root.GetProperty("losses").EnumerateArray().Select(e => e.GetDouble()).ToArray();
        var batches = root.GetProperty("batches").EnumerateArray().Select(ReferenceFixture.Longs).ToArray();
        Assert.Equal(expected.Length, batches.Length);
        var order = method.BeginEpoch(1, 1);
        if (extras.TryGetProperty("multiplicity", out var multiplicity))
        {
            // JTT's epoch: every sample as often as the reference's upsampled dataset holds it
            var counts = new long[train.Count];
            foreach (var i in order) counts[i]++;
            Assert.Equal(ReferenceFixture.Longs(multiplicity), counts);
        }
        for (int step = 0; step < batches.Length; step++)
        {
            using var stepScope = NewDisposeScope();
            int taken = 0;
            foreach (var batch in train.Batches(batches[step], batches[step].Length))   // one batch, its rows in the fixture's order
            {
                // the entry's step: plain (backward, step) for all but the SAM entry, whose loss is its first evaluation's
                var loss = entry.Step.Take(method, model, optimizer, batch);
                worst = Math.Max(worst, ReferenceFixture.Check(expected[step], loss.item<float>(), $"{name}: loss of step {step + 1}", Tolerance));
                taken++;
            }
            Assert.Equal(1, taken);
        }
        method.EndEpoch();
        foreach (var (actual, final) in Parameters(model, root.GetProperty("final")))
            for (int i = 0; i < final.Length; i++)
                worst = Math.Max(worst, ReferenceFixture.Check(final[i], actual[i], $"{name}: parameter value {i} after {batches.Length} steps", Tolerance));
        output.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{name} ({root.GetProperty("reference").GetString()}): max deviation {worst:E2}"));
    }

    /// <summary>The C# options the fixture's script ran with; an option the test does not map fails the test rather than being ignored.</summary>
    private static object? Options(string key, JsonElement options)
    {
        var names = options.EnumerateObject().Select(p => p.Name).Order(StringComparer.Ordinal).ToArray();
        double Get(string n) => options.GetProperty(n).GetDouble();
        (object? Value, string[] Reads) mapped = key switch
        {
            "erm" or "erm-balanced" or "erm-balanced-sam" or "reweight" or "reweight-sqrt" or "bsoftmax" or "lff" => (null, []),
            "jtt" => (new JttOptions { Lambda = (int)Get("Lambda") }, ["Lambda"]),
            "cvar-dro" => (new CvarDroOptions { Alpha = Get("Alpha") }, ["Alpha"]),
            "cbloss" => (new ReweightOptions { Weighting = GroupWeighting.EffectiveNumber, Beta = Get("Beta") }, ["Beta"]),
            "focal" => (new FocalOptions { Gamma = Get("Gamma") }, ["Gamma"]),
            "ldam" => (new LdamOptions { MaxMargin = Get("MaxMargin"), Scale = Get("Scale") }, ["MaxMargin", "Scale"]),
            "irm" => (new IrmOptions { PenaltyWeight = Get("PenaltyWeight"), AnnealSteps = (int)Get("AnnealSteps") }, ["AnnealSteps", "PenaltyWeight"]),
            "mmd" => (new FeatureAlignmentOptions { PenaltyWeight = Get("PenaltyWeight") }, ["PenaltyWeight"]),
            "coral" => (new FeatureAlignmentOptions { Kernel = FeatureKernel.MeanCovariance, PenaltyWeight = Get("PenaltyWeight") }, ["PenaltyWeight"]),
            _ => throw new InvalidOperationException($"No options mapping for fixture method '{key}'."),
        };
        Assert.Equal(mapped.Reads, names);
        return mapped.Value;
    }

    /// <summary>Compares the method's fixed quantities with the fixture's extras; returns the largest deviation.</summary>
    private static double CheckExtras(ITrainingMethod method, JsonElement extras, IGroupDataset train)
    {
        double worst = 0;
        foreach (var extra in extras.EnumerateObject())
        {
            if (extra.Name is "error_set" or "multiplicity") continue;   // the groups the method is built on; the epoch order, checked there
            var expected = extra.Value.EnumerateArray().Select(e => e.GetDouble()).ToArray();
            IReadOnlyList<double> actual = (extra.Name, method) switch
            {
                ("up_weight", JttMethod m) => [m.Lambda],
                ("group_weights", ReweightMethod m) => m.GroupWeights,
                ("margins", LdamMethod m) => m.Margins,
                ("class_counts", BalancedSoftmaxMethod m) => m.ClassCounts.Select(c => (double)c).ToArray(),
                // the group-balanced order's per-sample probability (the sampler the method's epoch order builds)
                ("sample_probabilities", ErmMethod m) => m.Options.Order.CreateSampler(train.Count, 0) is GroupBalancedSampler s
                    ? GroupAssignment.FromTrueGroups(train).Groups.ToArray().Select(s.Probability).ToArray()
                    : throw new InvalidOperationException($"{method.Name} does not sample group-balanced epochs."),
                _ => throw new InvalidOperationException($"No check for extra '{extra.Name}' of {method.Name}."),
            };
            Assert.Equal(expected.Length, actual.Count);
            for (int i = 0; i < expected.Length; i++)
            {
                Assert.True(Math.Abs(expected[i] - actual[i]) <= 1e-9, $"{extra.Name}[{i}]: expected {expected[i]}, got {actual[i]}");
                worst = Math.Max(worst, Math.Abs(expected[i] - actual[i]));
            }
        }
        return worst;
    }

    /// <summary>Each parameter's values and the fixture's, flattened in the same (row-major) order.</summary>
    private static IEnumerable<(float[] Actual, double[] Expected)> Parameters(nn.Module model, JsonElement state)
    {
        foreach (var (name, parameter) in model.named_parameters())
        {
            var actual = parameter.detach().flatten().data<float>().ToArray();
            // the fixture's values as the float32 parameters hold them
            var expected = ReferenceFixture.Flatten(state.GetProperty(name)).Select(v => (double)(float)v).ToArray();
            Assert.Equal(expected.Length, actual.Length);
            yield return (actual, expected);
        }
    }
}
