using System.Text.Json;
using GroupRobust.Data;
using GroupRobust.Groups;
using GroupRobust.Models;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace GroupRobust.Tests.TestSupport;

/// <summary>
/// Reading the reference fixtures eng/make-reference-fixtures.py writes (Fixtures/Reference/...) and comparing with them:
/// numbers relative to their size above 1, within 1e-5 unless a test says otherwise.
/// </summary>
internal static class ReferenceFixture
{
    /// <summary>The fixture Fixtures/Reference/<paramref name="relativePath"/>.json from the test output.</summary>
    public static JsonElement Load(string relativePath)
        => JsonDocument.Parse(File.ReadAllText(Path.Combine(AppContext.BaseDirectory, "Fixtures", "Reference", relativePath + ".json"))).RootElement;

    public static double[] Doubles(JsonElement e) => e.EnumerateArray().Select(v => v.GetDouble()).ToArray();

    public static double[][] Rows(JsonElement e) => e.EnumerateArray().Select(Doubles).ToArray();

    public static long[] Longs(JsonElement e) => e.EnumerateArray().Select(v => v.GetInt64()).ToArray();

    /// <summary>Every number of a nested array, in row-major order.</summary>
    public static double[] Flatten(JsonElement e)
        => e.ValueKind == JsonValueKind.Array ? e.EnumerateArray().SelectMany(Flatten).ToArray() : [e.GetDouble()];

    /// <summary>A float32 tensor of a fixture's matrix.</summary>
    public static Tensor Matrix(JsonElement e)
    {
        var rows = Rows(e);
        return torch.tensor(rows.SelectMany(r => r).Select(v => (float)v).ToArray(), [rows.Length, rows[0].Length]);
    }

    /// <summary>A float64 tensor of a fixture's matrix (features the reference kept in float64).</summary>
    public static Tensor Matrix64(JsonElement e)
    {
        var rows = Rows(e);
        return torch.tensor(rows.SelectMany(r => r).ToArray(), [rows.Length, rows[0].Length], ScalarType.Float64);
    }

    /// <summary>A last layer from a fixture's weight matrix [C, D] and bias [C].</summary>
    public static LinearHead Head(JsonElement weight, JsonElement bias)
    {
        var rows = Rows(weight);
        var w = new double[rows.Length, rows[0].Length];
        for (int i = 0; i < rows.Length; i++)
            for (int j = 0; j < rows[i].Length; j++) w[i, j] = rows[i][j];
        return new LinearHead { Weight = w, Bias = Doubles(bias) };
    }

    /// <summary>The fixture's task: its inputs, labels and attributes under its number of classes and attributes.</summary>
    public static TensorGroupDataset Dataset(JsonElement root)
    {
        using var scope = NewDisposeScope();
        var inputs = Matrix(root.GetProperty("inputs"));
        var labels = torch.tensor(Longs(root.GetProperty("labels")), ScalarType.Int64);
        var attributes = torch.tensor(Longs(root.GetProperty("attributes")), ScalarType.Int64);
        return new TensorGroupDataset(inputs, labels, new GroupScheme(root.GetProperty("num_classes").GetInt32(), root.GetProperty("num_attributes").GetInt32()), attributes);
    }

    /// <summary>The fixtures' network, Linear(3, 4) - ReLU - Linear(4, 3) named lin1, act, fc, with the parameters of <paramref name="state"/>.</summary>
    public static nn.Module<Tensor, Tensor> Network(JsonElement state)
    {
        var net = nn.Sequential(("lin1", nn.Linear(3, 4)), ("act", nn.ReLU()), ("fc", nn.Linear(4, 3)));
        LoadParameters(net, state);
        return net;
    }

    /// <summary><see cref="Check"/> for every parameter of <paramref name="model"/> against the fixture's state; returns the largest deviation.</summary>
    public static double CompareParameters(nn.Module model, JsonElement state, string what, double tolerance = 1e-5)
    {
        double worst = 0;
        foreach (var (name, parameter) in model.named_parameters())
        {
            var actual = parameter.detach().flatten().data<float>().ToArray();
            worst = Math.Max(worst, Compare(Flatten(state.GetProperty(name)), actual.Select(v => (double)v).ToArray(), $"{what}: {name}", tolerance));
        }
        return worst;
    }

    /// <summary>Copies a fixture's state (parameter name to nested values) into <paramref name="model"/>'s parameters; the names must be the model's, all of them.</summary>
    public static void LoadParameters(nn.Module model, JsonElement state)
    {
        using var noGrad = torch.no_grad();
        var named = model.named_parameters().ToDictionary(p => p.name, p => p.parameter);
        Assert.Equal(named.Keys.Order(StringComparer.Ordinal), state.EnumerateObject().Select(p => p.Name).Order(StringComparer.Ordinal));
        foreach (var p in state.EnumerateObject())
        {
            using var value = torch.tensor(Flatten(p.Value).Select(v => (float)v).ToArray()).reshape(named[p.Name].shape);
            named[p.Name].copy_(value);
        }
    }

    /// <summary>Asserts that <paramref name="actual"/> is within <paramref name="tolerance"/> of <paramref name="expected"/> (relative above 1); returns the deviation.</summary>
    public static double Check(double expected, double actual, string what, double tolerance = 1e-5)
    {
        double deviation = Math.Abs(expected - actual) / Math.Max(1, Math.Abs(expected));
        Assert.True(deviation <= tolerance, $"{what}: reference {expected:R}, ours {actual:R} (relative deviation {deviation:E2} > {tolerance:E0})");
        return deviation;
    }

    /// <summary>A run with draws (Fixtures/Reference/Draws/): its batches (index lists, rows in that order), each batch's draws and each step's loss.</summary>
    public static (long[][] Batches, JsonElement[] Draws, double[] Losses) Steps(JsonElement root)
        => (root.GetProperty("batches").EnumerateArray().Select(Longs).ToArray(), root.GetProperty("draws").EnumerateArray().ToArray(), Doubles(root.GetProperty("losses")));

    /// <summary>
    /// One step of a fixture's run: <see cref="Check"/>s <paramref name="loss"/> against the fixture's, then backpropagates
    /// it and steps <paramref name="optimizer"/> (gradients zeroed first); returns the deviation.
    /// </summary>
    public static double CheckAndStep(OptimizerHelper optimizer, Tensor loss, double expected, string what)
    {
        double deviation = Check(expected, loss.item<float>(), what);
        optimizer.zero_grad();
        loss.backward();
        optimizer.step();
        return deviation;
    }

    /// <summary><see cref="Check"/> for every element; returns the largest deviation.</summary>
    public static double Compare(IReadOnlyList<double> expected, IReadOnlyList<double> actual, string what, double tolerance = 1e-5)
    {
        Assert.Equal(expected.Count, actual.Count);
        double worst = 0;
        for (int i = 0; i < expected.Count; i++) worst = Math.Max(worst, Check(expected[i], actual[i], $"{what} [{i}]", tolerance));
        return worst;
    }
}
