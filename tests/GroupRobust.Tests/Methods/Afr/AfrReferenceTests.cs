using System.Text.Json;
using GroupRobust.Data;
using GroupRobust.Groups;
using GroupRobust.Methods;
using GroupRobust.Models;
using GroupRobust.Randomness;
using TorchSharp;
using GroupRobust.Tests.TestSupport;
using Xunit.Abstractions;
using static GroupRobust.Tests.TestSupport.ReferenceFixture;
using static TorchSharp.torch;

namespace GroupRobust.Tests.Methods;

/// <summary>
/// AFR's last-layer training against a transcription of its reference (eng/make-reference-fixtures.py, fixture in
/// Fixtures/Reference/LastLayer/afr.json, from AndPotap/afr): the same sample weights, the same loss at every full-batch
/// step (weighted cross entropy plus the pull to the ERM head, gradient norm clipped at 1) and the same final layer; and
/// AFR's search (LastLayer/afr-grid.json, the reference's best-validation bookkeeping in utils/logging.py): every
/// configuration's kept step and score, the winner (a tie broken by grid order) and its head.
/// </summary>
public class AfrReferenceTests(ITestOutputHelper output)
{
    [Fact]
    public void Weights_losses_and_the_final_layer_match_the_reference_step_by_step()
    {
        var root = ReferenceFixture.Load("LastLayer/afr");
        var embeddings = Rows(root.GetProperty("embeddings"));
        var labels = Longs(root.GetProperty("labels"));
        var initial = Head(root.GetProperty("w0"), root.GetProperty("b0"));
        using var scope = NewDisposeScope();
        using var features = new TensorGroupDataset(Matrix(root.GetProperty("embeddings")), torch.tensor(labels), new GroupScheme(3, 1));
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

    [Fact]
    public void The_grid_search_keeps_the_references_step_of_every_configuration_and_its_winner()
    {
        var root = ReferenceFixture.Load("LastLayer/afr-grid");
        using var scope = NewDisposeScope();
        using var heldOut = new TensorGroupDataset(Matrix(root.GetProperty("embeddings")), torch.tensor(Longs(root.GetProperty("labels"))), new GroupScheme(3, 1));
        using var validation = new TensorGroupDataset(Matrix(root.GetProperty("validation_embeddings")), torch.tensor(Longs(root.GetProperty("validation_labels"))),
            new GroupScheme(3, 2), torch.tensor(Longs(root.GetProperty("validation_attributes"))));
        var initial = Head(root.GetProperty("w0"), root.GetProperty("b0"));
        var result = AfrSearch.Run(heldOut, validation, initial, new SeedSource(0), new AfrSearchOptions
        {
            Gammas = Doubles(root.GetProperty("gammas")),
            Lambdas = Doubles(root.GetProperty("reg_coeffs")),
            Steps = root.GetProperty("steps").GetInt32(),
            LearningRate = root.GetProperty("learning_rate").GetDouble(),
            MaxGradientNorm = root.GetProperty("max_norm").GetDouble(),
        });
        var grid = root.GetProperty("grid").EnumerateArray().ToArray();
        Assert.Equal(grid.Length, result.Grid.Count);
        for (int i = 0; i < grid.Length; i++)
        {
            Assert.Equal((grid[i].GetProperty("gamma").GetDouble(), grid[i].GetProperty("reg_coeff").GetDouble(), grid[i].GetProperty("step").GetInt32()),
                (result.Grid[i].Gamma, result.Grid[i].Lambda, result.Grid[i].Step));
            Assert.Equal(grid[i].GetProperty("score").GetDouble(), result.Grid[i].Score, 12);
        }
        var chosen = root.GetProperty("chosen");
        Assert.Equal((chosen.GetProperty("gamma").GetDouble(), chosen.GetProperty("reg_coeff").GetDouble(), chosen.GetProperty("step").GetInt32()), (result.Gamma, result.Lambda, result.Step));
        double worst = 0;
        var weight = Rows(chosen.GetProperty("weight"));
        for (int k = 0; k < 3; k++)
            worst = Math.Max(worst, Compare(weight[k], Enumerable.Range(0, result.Head.Features).Select(j => result.Head.Weight[k, j]).ToArray(), $"kept weight row {k}"));
        worst = Math.Max(worst, Compare(Doubles(chosen.GetProperty("bias")), result.Head.Bias, "kept bias"));
        Assert.True(grid.Count(c => c.GetProperty("score").GetDouble() == chosen.GetProperty("score").GetDouble()) > 1, "the fixture's grid has a tie, which grid order breaks");
        output.WriteLine($"AFR grid: {grid.Length} configurations' steps and scores equal; kept gamma {result.Gamma}, lambda {result.Lambda}, step {result.Step}; head max deviation {worst:E2}");
    }
}
