using System.Text.Json;
using GroupRobust.Data;
using GroupRobust.Groups;
using GroupRobust.Methods;
using GroupRobust.Models;
using GroupRobust.Randomness;
using TorchSharp;
using Xunit.Abstractions;
using static TorchSharp.torch;

namespace GroupRobust.Tests.Methods;

/// <summary>
/// AFR's last-layer training against a transcription of its reference (eng/make-reference-fixtures.py, fixture in
/// Fixtures/Reference/LastLayer/afr.json, from AndPotap/afr): the same sample weights, the same loss at every full-batch
/// step (weighted cross entropy plus the pull to the ERM head, gradient norm clipped at 1) and the same final layer.
/// </summary>
public class AfrReferenceTests(ITestOutputHelper output)
{
    [Fact]
    public void Weights_losses_and_the_final_layer_match_the_reference_step_by_step()
    {
        var root = JsonDocument.Parse(File.ReadAllText(Path.Combine(AppContext.BaseDirectory, "Fixtures", "Reference", "LastLayer", "afr.json"))).RootElement;
        var embeddings = Rows(root.GetProperty("embeddings"));
        var labels = root.GetProperty("labels").EnumerateArray().Select(v => v.GetInt64()).ToArray();
        var w0 = Rows(root.GetProperty("w0"));
        var initial = new LinearHead { Weight = Matrix(w0), Bias = Doubles(root.GetProperty("b0")) };
        using var scope = NewDisposeScope();
        using var features = new TensorGroupDataset(torch.tensor(embeddings.SelectMany(r => r).Select(v => (float)v).ToArray(), [embeddings.Length, embeddings[0].Length]),
            torch.tensor(labels), new GroupScheme(3, 1));
        using var method = new AfrMethod(features, initial, new SeedSource(0),
            new AfrOptions { Gamma = root.GetProperty("gamma").GetDouble(), Lambda = root.GetProperty("reg_coeff").GetDouble(), RebalanceClasses = true });
        double worst = Compare(Doubles(root.GetProperty("weights")), method.SampleWeights(), "sample weight");
        using var head = nn.Linear(embeddings[0].Length, 3);
        initial.Load(head);
        using var sgd = torch.optim.SGD(head.parameters(), root.GetProperty("learning_rate").GetDouble());
        int steps = root.GetProperty("steps").GetInt32();
        var losses = new double[steps];
        for (int step = 1; step <= steps; step++)
        {
            var order = method.BeginEpoch(step, steps);
            using (var stepScope = NewDisposeScope())
            using (var batch = features.GetBatch(order))
            {
                sgd.zero_grad();
                var loss = method.Loss(head, batch);
                losses[step - 1] = loss.item<float>();
                loss.backward();
                nn.utils.clip_grad_norm_(head.parameters(), root.GetProperty("max_norm").GetDouble());
                sgd.step();
            }
            method.EndEpoch();
        }
        worst = Math.Max(worst, Compare(Doubles(root.GetProperty("losses")), losses, "loss"));
        var final = LinearHead.Read(head);
        var expectedWeight = Rows(root.GetProperty("weight"));
        for (int k = 0; k < 3; k++)
            worst = Math.Max(worst, Compare(expectedWeight[k], Enumerable.Range(0, final.Features).Select(j => final.Weight[k, j]).ToArray(), $"weight row {k}"));
        worst = Math.Max(worst, Compare(Doubles(root.GetProperty("bias")), final.Bias, "bias"));
        output.WriteLine($"AFR: max deviation {worst:E2} over the weights, {steps} losses and the final layer");
    }

    private static double Compare(IReadOnlyList<double> expected, IReadOnlyList<double> actual, string what)
    {
        Assert.Equal(expected.Count, actual.Count);
        double worst = 0;
        for (int i = 0; i < expected.Count; i++)
        {
            double deviation = Math.Abs(expected[i] - actual[i]) / Math.Max(1, Math.Abs(expected[i]));
            Assert.True(deviation <= 1e-5, $"{what} [{i}]: reference {expected[i]:R}, ours {actual[i]:R}");
            worst = Math.Max(worst, deviation);
        }
        return worst;
    }

    private static double[] Doubles(JsonElement e) => e.EnumerateArray().Select(v => v.GetDouble()).ToArray();

    private static double[][] Rows(JsonElement e) => e.EnumerateArray().Select(Doubles).ToArray();

    private static double[,] Matrix(double[][] rows)
    {
        var m = new double[rows.Length, rows[0].Length];
        for (int i = 0; i < rows.Length; i++)
            for (int j = 0; j < rows[i].Length; j++) m[i, j] = rows[i][j];
        return m;
    }
}
