using System.Globalization;
using System.Text.Json;
using GroupRobust.Catalog;
using GroupRobust.Data;
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
/// JM1, c-MixUp and unconditional JM1 against a transcription of the JM1 paper's step (eng/make-reference-fixtures.py,
/// Fixtures/Reference/Draws/: Eq. 1 per row with alpha on either sample, Manifold Mixup's mixing at the input, a hidden
/// layer or the classifier's input, the plain cross entropy with the batch's labels). The transcription's partner
/// positions are replayed through the library's <see cref="ClassConditionalMixer"/> (each draw must come from a pool of
/// the transcription's size, and give its partner and its unmixed rows), and its alpha goes to the catalog method's own
/// step (<see cref="Jm1Method.MixedLoss(nn.Module{Tensor, Tensor}, Batch, MixPlan, double)"/>): every loss and the final
/// parameters within 1e-5. At a hidden layer and at the output both of the library's computations are checked: the
/// exact two passes (<see cref="PartnerSource.Dataset"/>) and the one pass over the batch and its partners that the
/// default (<see cref="PartnerSource.Paired"/>) runs.
/// </summary>
public class Jm1ReferenceTests(ITestOutputHelper output)
{
    public static TheoryData<string, PartnerSource?> Fixtures() => new()
    {
        { "jm1-input", null },
        { "jm1-hidden", PartnerSource.Dataset },
        { "jm1-hidden", null },
        { "jm1-output", PartnerSource.Dataset },
        { "jm1-output", null },
        { "cmixup", null },
        { "jm1-unconditional", null },
    };

    [Theory]
    [MemberData(nameof(Fixtures))]
    public void The_mixed_step_matches_the_transcription_with_its_draws(string name, PartnerSource? partners)
    {
        var root = Load("Draws/" + name);
        using var scope = NewDisposeScope();
        using var train = Dataset(root);
        string key = root.GetProperty("method").GetString()!;
        bool classConditional = key == "cmixup";
        var groups = GroupAssignment.FromErrorIndices(Longs(root.GetProperty("error_set")), train, "fixture");
        string layer = root.GetProperty("layer").GetString()!;
        var options = new Jm1Options
        {
            Orientation = root.GetProperty("alpha_weights").GetString() == "minority" ? AlphaOrientation.MinorityWeight : AlphaOrientation.MajorityWeight,
            Layer = layer switch { "input" => MixingLayer.Input, "output" => MixingLayer.Output, _ => MixingLayer.Named(layer) },
            Schedule = root.GetProperty("alpha_distribution").GetString() == "beta" ? AlphaSchedule.Beta(2, 5) : AlphaSchedule.Uniform(),
            Partners = partners,
        };
        using var method = (Jm1Method)MethodCatalog.Method(key).Create(new MethodRequest
        {
            Train = train,
            Groups = classConditional ? null : groups,
            Seeds = new SeedSource(0),
            Options = options,
        });
        var policy = root.GetProperty("policy").GetString() switch
        {
            "same-class" => PartnerPolicy.SameClass,
            "other-side-same-class" => PartnerPolicy.OtherGroupSameClass,
            _ => PartnerPolicy.OtherSideAnyClass,
        };
        Assert.Equal(policy, method.Options.Policy);   // the catalog entry is the transcription's variant
        var script = new ScriptedRandom($"{name} partners");
        var mixer = new ClassConditionalMixer(classConditional ? GroupAssignment.FromErrorIndices([], train, "none") : groups, script, policy, method.Options.Orientation);
        using var model = Network(root.GetProperty("initial"));
        using var sgd = torch.optim.SGD(model.parameters(), root.GetProperty("learning_rate").GetDouble());
        var (batches, draws, expected) = Steps(root);
        double worst = 0;
        for (int b = 0; b < batches.Length; b++)
        {
            using var stepScope = NewDisposeScope();
            script.Positions(draws[b].GetProperty("positions"));
            using var batch = train.GetBatch(batches[b]);
            var plan = mixer.DrawPartners(batch);
            script.AssertConsumed();
            Assert.Equal(Longs(draws[b].GetProperty("partners")), plan.PartnerIndices);
            Assert.Equal(draws[b].GetProperty("mixed").EnumerateArray().Select(e => e.GetBoolean()), plan.Mixed);
            var loss = method.MixedLoss(model, batch, plan, draws[b].GetProperty("alpha").GetDouble());
            worst = Math.Max(worst, CheckAndStep(sgd, loss, expected[b], $"{name}: loss of batch {b}"));
        }
        Assert.Equal(layer, method.LastLayer);
        worst = Math.Max(worst, CompareParameters(model, root.GetProperty("final"), name));
        output.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{name} ({method.Name}): max deviation {worst:E2} over {batches.Length} losses and the final parameters"));
    }

    [Fact]
    public void Jm1_plus_upsamples_its_epoch_as_the_jtt_reference_does()
    {
        // JM1+ is JM1's step (above) over JTT's upsampled epoch: the multiplicity of every sample as anniesch/jtt's
        // run_expt.py builds the upsampled dataset (the JTT fixture, up-weight 3)
        var root = Load("jtt");
        using var scope = NewDisposeScope();
        using var train = Dataset(root);
        var extras = root.GetProperty("extras");
        var groups = GroupAssignment.FromErrorIndices(Longs(extras.GetProperty("error_set")), train, "fixture");
        using var method = (Jm1Method)MethodCatalog.Method("jm1-plus").Create(new MethodRequest
        {
            Train = train,
            Groups = groups,
            Seeds = new SeedSource(0),
            Options = new Jm1Options { UpsampleLambda = (int)extras.GetProperty("up_weight")[0].GetDouble() },
        });
        var counts = new long[train.Count];
        foreach (var i in method.BeginEpoch(1, 1)) counts[i]++;
        Assert.Equal(Longs(extras.GetProperty("multiplicity")), counts);
        Assert.Equal(PartnerPolicy.OtherGroupSameClass, method.Options.Policy);
    }
}
