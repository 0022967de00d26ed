using System.Globalization;
using GroupRobust.Catalog;
using GroupRobust.Identification;
using GroupRobust.Methods;
using GroupRobust.Mixing;
using GroupRobust.Randomness;
using GroupRobust.Tests.TestSupport;
using TorchSharp;
using Xunit.Abstractions;
using static GroupRobust.Tests.TestSupport.ReferenceFixture;
using static TorchSharp.torch;

namespace GroupRobust.Tests.Methods;

/// <summary>
/// LISA against a transcription of its reference (eng/make-reference-fixtures.py, Fixtures/Reference/Draws/lisa*.json;
/// huaxiuyao/LISA's mix_up, mix_forward and the mix-up branch of LossComputer.loss): the transcription's strategy
/// uniform and partner positions replayed through the library's <see cref="LisaMixer"/> give its strategy and partners
/// from pools of its sizes (3 classes: intra-domain mixing chooses between two groups), and with its per-sample lambdas
/// the catalog method's step gives every loss and the final parameters within 1e-5, at the input and at the classifier's input.
/// </summary>
public class LisaReferenceTests(ITestOutputHelper output)
{
    [Theory]
    [InlineData("lisa")]
    [InlineData("lisa-output")]
    public void The_selective_mix_matches_the_transcription_with_its_draws(string name)
    {
        var root = Load("Draws/" + name);
        using var scope = NewDisposeScope();
        using var train = Dataset(root);
        var groups = GroupAssignment.FromTrueGroups(train);
        string layer = root.GetProperty("layer").GetString()!;
        var options = new LisaOptions
        {
            SelectionProbability = root.GetProperty("selection_probability").GetDouble(),
            MixAlpha = root.GetProperty("mix_alpha").GetDouble(),
            Layer = layer == "input" ? MixingLayer.Input : MixingLayer.Output,
        };
        using var method = (LisaMethod)MethodCatalog.Method("lisa").Create(new MethodRequest { Train = train, Groups = groups, Seeds = new SeedSource(0), Options = options });
        var script = new ScriptedRandom($"{name} draws");
        var mixer = new LisaMixer(groups, script, options.SelectionProbability);
        using var model = Network(root.GetProperty("initial"));
        using var sgd = torch.optim.SGD(model.parameters(), root.GetProperty("learning_rate").GetDouble());
        var (batches, draws, expected) = Steps(root);
        double worst = 0;
        for (int b = 0; b < batches.Length; b++)
        {
            using var stepScope = NewDisposeScope();
            script.Uniform(draws[b].GetProperty("u").GetDouble());
            script.Positions(draws[b].GetProperty("positions"));
            using var batch = train.GetBatch(batches[b]);
            var plan = mixer.DrawPartners(batch);
            script.AssertConsumed();
            var strategy = draws[b].GetProperty("strategy").GetString() == "intra-label" ? LisaStrategy.IntraLabel : LisaStrategy.IntraDomain;
            Assert.Equal(strategy, mixer.LastStrategy);
            Assert.Equal(Longs(draws[b].GetProperty("partners")), plan.PartnerIndices);
            var loss = method.MixedLoss(model, batch, plan, Doubles(draws[b].GetProperty("lambdas")));
            worst = Math.Max(worst, CheckAndStep(sgd, loss, expected[b], $"{name}: loss of batch {b}"));
        }
        long intraLabel = draws.LongCount(d => d.GetProperty("strategy").GetString() == "intra-label");
        Assert.Equal((intraLabel, batches.Length - intraLabel), mixer.StrategyCounts);
        Assert.InRange(intraLabel, 1, batches.Length - 1);   // both strategies, as the script asserts
        worst = Math.Max(worst, CompareParameters(model, root.GetProperty("final"), name));
        output.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{name} ({method.Name}): max deviation {worst:E2} over {batches.Length} losses and the final parameters"));
    }
}
