using System.Globalization;
using System.Text.Json;
using GroupRobust.Catalog;
using GroupRobust.Data;
using GroupRobust.Groups;
using GroupRobust.Identification;
using GroupRobust.Methods;
using GroupRobust.Randomness;
using TorchSharp;
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
        string[] expected = ["bsoftmax", "cbloss", "coral", "cvar-dro", "erm", "focal", "irm", "jtt", "jtt-auto", "ldam", "lff", "mmd", "reweight", "reweight-sqrt"];
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
        var inputs = torch.tensor(Matrix(root.GetProperty("inputs")), ScalarType.Float32);
        var labels = torch.tensor(Longs(root.GetProperty("labels")), ScalarType.Int64);
        var attributes = torch.tensor(Longs(root.GetProperty("attributes")), ScalarType.Int64);
        using var train = new TensorGroupDataset(inputs, labels, new GroupScheme(root.GetProperty("num_classes").GetInt32(), root.GetProperty("num_attributes").GetInt32()), attributes);
        var entry = MethodCatalog.Method(key);
        var extras = root.GetProperty("extras");
        // JTT trains on the fixture's error set; every other method that takes groups on the true ones
        var groups = extras.TryGetProperty("error_set", out var errorSet)
            ? GroupAssignment.FromErrorIndices(Longs(errorSet), train, "fixture")
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
        Load(model, root.GetProperty("initial"));
        using var optimizer = torch.optim.SGD(model.parameters(), root.GetProperty("learning_rate").GetDouble());

        double worst = CheckExtras(method, extras);
        var expected = root.GetProperty("losses").EnumerateArray().Select(e => e.GetDouble()).ToArray();
        var batches = root.GetProperty("batches").EnumerateArray().Select(Longs).ToArray();
        Assert.Equal(expected.Length, batches.Length);
        var order = method.BeginEpoch(1, 1);
        if (extras.TryGetProperty("multiplicity", out var multiplicity))
        {
            // JTT's epoch: every sample as often as the reference's upsampled dataset holds it
            var counts = new long[train.Count];
            foreach (var i in order) counts[i]++;
            Assert.Equal(Longs(multiplicity), counts);
        }
        for (int step = 0; step < batches.Length; step++)
        {
            using var stepScope = NewDisposeScope();
            int taken = 0;
            foreach (var batch in train.Batches(batches[step], batches[step].Length))   // one batch, its rows in the fixture's order
            {
                optimizer.zero_grad();
                var loss = method.Loss(model, batch);
                worst = Math.Max(worst, Close(expected[step], loss.item<float>(), $"{name}: loss of step {step + 1}"));
                loss.backward();
                optimizer.step();
                taken++;
            }
            Assert.Equal(1, taken);
        }
        method.EndEpoch();
        foreach (var (actual, final) in Parameters(model, root.GetProperty("final")))
            for (int i = 0; i < final.Length; i++)
                worst = Math.Max(worst, Close(final[i], actual[i], $"{name}: parameter value {i} after {batches.Length} steps"));
        output.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{name} ({root.GetProperty("reference").GetString()}): max deviation {worst:E2}"));
    }

    /// <summary>The C# options the fixture's script ran with; an option the test does not map fails the test rather than being ignored.</summary>
    private static object? Options(string key, JsonElement options)
    {
        var names = options.EnumerateObject().Select(p => p.Name).Order(StringComparer.Ordinal).ToArray();
        double Get(string n) => options.GetProperty(n).GetDouble();
        (object? Value, string[] Reads) mapped = key switch
        {
            "erm" or "reweight" or "reweight-sqrt" or "bsoftmax" or "lff" => (null, []),
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
    private static double CheckExtras(ITrainingMethod method, JsonElement extras)
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

    private static double Close(double expected, double actual, string what)
    {
        double deviation = Math.Abs(expected - actual) / Math.Max(1, Math.Abs(expected));
        Assert.True(deviation <= Tolerance, string.Create(CultureInfo.InvariantCulture, $"{what}: expected {expected:R}, got {actual:R} (relative deviation {deviation:E2} > {Tolerance:E0})"));
        return deviation;
    }

    private static void Load(nn.Module model, JsonElement state)
    {
        using var noGrad = torch.no_grad();
        var named = model.named_parameters().ToDictionary(p => p.name, p => p.parameter);
        Assert.Equal(named.Keys.Order(StringComparer.Ordinal), state.EnumerateObject().Select(p => p.Name).Order(StringComparer.Ordinal));
        foreach (var p in state.EnumerateObject())
        {
            using var value = torch.tensor(Flatten(p.Value), ScalarType.Float32).reshape(named[p.Name].shape);
            named[p.Name].copy_(value);
        }
    }

    /// <summary>Each parameter's values and the fixture's, flattened in the same (row-major) order.</summary>
    private static IEnumerable<(float[] Actual, double[] Expected)> Parameters(nn.Module model, JsonElement state)
    {
        foreach (var (name, parameter) in model.named_parameters())
        {
            var actual = parameter.detach().flatten().data<float>().ToArray();
            var expected = Flatten(state.GetProperty(name)).Select(v => (double)v).ToArray();
            Assert.Equal(expected.Length, actual.Length);
            yield return (actual, expected);
        }
    }

    private static float[] Flatten(JsonElement e)
        => e.ValueKind == JsonValueKind.Array ? e.EnumerateArray().SelectMany(Flatten).ToArray() : [(float)e.GetDouble()];

    private static float[,] Matrix(JsonElement e)
    {
        var rows = e.EnumerateArray().Select(r => r.EnumerateArray().Select(v => (float)v.GetDouble()).ToArray()).ToArray();
        var m = new float[rows.Length, rows[0].Length];
        for (int i = 0; i < rows.Length; i++)
            for (int j = 0; j < rows[i].Length; j++) m[i, j] = rows[i][j];
        return m;
    }

    private static long[] Longs(JsonElement e) => e.EnumerateArray().Select(v => v.GetInt64()).ToArray();
}
