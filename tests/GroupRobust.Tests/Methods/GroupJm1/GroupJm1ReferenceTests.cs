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
/// GroupJM1 and GroupJM1 + GroupDRO against a transcription of the JM1 paper's Appendix D step (eng/make-reference-fixtures.py,
/// Fixtures/Reference/Draws/groupjm1*.json; GroupDRO's loss as kohpangwei/group_DRO's LossComputer): the catalog
/// method chooses the same worst group of every batch, the transcription's partner positions replayed through the
/// library's mixer give its partners from pools of its sizes, and with its alpha the method's step gives every loss,
/// the final parameters and (GroupDRO) the group weights within 1e-5.
/// </summary>
public class GroupJm1ReferenceTests(ITestOutputHelper output)
{
    [Theory]
    [InlineData("groupjm1")]
    [InlineData("groupjm1-dro")]
    public void The_worst_group_and_the_mixed_step_match_the_transcription(string name)
    {
        var root = Load("Draws/" + name);
        using var scope = NewDisposeScope();
        using var train = Dataset(root);
        var groups = GroupAssignment.FromTrueGroups(train);
        var options = new GroupJm1Options { Schedule = AlphaSchedule.Beta(2, 5), Orientation = AlphaOrientation.MajorityWeight };
        using var method = (GroupJm1Method)MethodCatalog.Method(root.GetProperty("method").GetString()!).Create(new MethodRequest
        {
            Train = train,
            Groups = groups,
            Seeds = new SeedSource(0),
            Options = options,
        });
        var script = new ScriptedRandom($"{name} partners");
        var mixer = new GroupJm1Mixer(groups, script, options.Orientation);
        using var model = Network(root.GetProperty("initial"));
        using var sgd = torch.optim.SGD(model.parameters(), root.GetProperty("learning_rate").GetDouble());
        var (batches, draws, expected) = Steps(root);
        double worst = 0;
        var chosen = new HashSet<int>();
        method.BeginEpoch(1, 1);   // the fixture's batches stand for the epoch's; its end reports the group weights
        for (int b = 0; b < batches.Length; b++)
        {
            using var stepScope = NewDisposeScope();
            using var batch = train.GetBatch(batches[b]);
            int worstGroup = method.WorstGroupOf(model, batch);
            Assert.Equal(draws[b].GetProperty("worst_group").GetInt32(), worstGroup);
            chosen.Add(worstGroup);
            script.Positions(draws[b].GetProperty("positions"));
            var plan = mixer.DrawPartners(batch, worstGroup);
            script.AssertConsumed();
            Assert.Equal(Longs(draws[b].GetProperty("partners")), plan.PartnerIndices);
            var loss = method.MixedLoss(model, batch, plan, draws[b].GetProperty("alpha").GetDouble());
            worst = Math.Max(worst, CheckAndStep(sgd, loss, expected[b], $"{name}: loss of batch {b}"));
        }
        Assert.True(chosen.Count > 1, "the fixture's batches should not all pick the same group");
        worst = Math.Max(worst, CompareParameters(model, root.GetProperty("final"), name));
        var weights = root.GetProperty("group_weights");
        if (weights.ValueKind != System.Text.Json.JsonValueKind.Null)
            worst = Math.Max(worst, Compare(Doubles(weights), method.EndEpoch().GroupWeights!, $"{name}: group weights"));
        output.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{name} ({method.Name}): max deviation {worst:E2} over {batches.Length} losses, the final parameters{(weights.ValueKind == System.Text.Json.JsonValueKind.Null ? "" : " and the group weights")}"));
    }
}
