using System.Text.Json;
using GroupRobust.Methods;
using TorchSharp;
using GroupRobust.Tests.TestSupport;
using Xunit.Abstractions;
using static GroupRobust.Tests.TestSupport.ReferenceFixture;
using static TorchSharp.torch;

namespace GroupRobust.Tests.Methods;

/// <summary>
/// MixUp's step against a transcription of its reference (eng/make-reference-fixtures.py, fixture in
/// Fixtures/Reference/Draws/mixup.json, from facebookresearch/mixup-cifar10's mixup_data and mixup_criterion): with the
/// fixture's draws (lambda and the permutation of each batch) fed to the mixing and the loss <see cref="MixupMethod"/>
/// uses, the same network through the same batches gives every loss and the final parameters within 1e-5.
/// </summary>
public class MixupReferenceTests(ITestOutputHelper output)
{
    [Fact]
    public void The_mixed_inputs_and_the_two_label_loss_match_the_reference_with_the_same_draws()
    {
        var root = ReferenceFixture.Load("Draws/mixup");
        using var scope = NewDisposeScope();
        var inputs = Matrix(root.GetProperty("inputs"));
        var labels = torch.tensor(Longs(root.GetProperty("labels")));
        using var net = Network(root.GetProperty("initial"));
        using var sgd = torch.optim.SGD(net.parameters(), root.GetProperty("learning_rate").GetDouble());
        var (batches, draws, expected) = Steps(root);
        double worst = 0;
        for (int b = 0; b < batches.Length; b++)
        {
            using var stepScope = NewDisposeScope();
            var index = torch.tensor(batches[b]);
            var draw = new MixupDraw(Longs(draws[b].GetProperty("permutation")), draws[b].GetProperty("lam").GetDouble());
            var loss = StandardMixup.Loss(net.call(StandardMixup.Mix(inputs.index_select(0, index), draw)), labels.index_select(0, index), draw);
            worst = Math.Max(worst, CheckAndStep(sgd, loss, expected[b], $"loss of batch {b}"));
        }
        worst = Math.Max(worst, CompareParameters(net, root.GetProperty("final"), "MixUp"));
        Assert.Contains(draws, d => d.GetProperty("lam").GetDouble() is > 0.05 and < 0.95);   // the fixture mixes, not just copies
        output.WriteLine($"MixUp: max deviation {worst:E2} over {batches.Length} losses and the final parameters");
    }
}
