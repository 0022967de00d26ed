using System.Globalization;
using GroupRobust.Identification;
using GroupRobust.Randomness;
using GroupRobust.Tests.TestSupport;
using TorchSharp;
using Xunit.Abstractions;
using static GroupRobust.Tests.TestSupport.ReferenceFixture;
using static TorchSharp.torch;

namespace GroupRobust.Tests.Identification;

/// <summary>
/// XRM against a transcription of its reference (eng/make-reference-fixtures.py, Fixtures/Reference/Draws/xrm.json;
/// facebookresearch/XRM's XRM.update, get_loss, flip_y and cross_mistakes): from the same twins, halves and batches,
/// with the transcription's flip uniforms, the library's step gives every loss and the final parameters of both twins
/// within 1e-5 and the same dynamic labels after every step; its read-out gives the same cross-mistakes.
/// </summary>
public class XrmReferenceTests(ITestOutputHelper output)
{
    [Fact]
    public void The_twin_steps_the_label_flips_and_the_cross_mistakes_match_the_transcription()
    {
        var root = Load("Draws/xrm");
        using var scope = NewDisposeScope();
        using var train = Dataset(root);
        int k = root.GetProperty("num_classes").GetInt32();
        using var twinA = Network(root.GetProperty("initial_a"));
        using var twinB = Network(root.GetProperty("initial_b"));
        using var sgd = torch.optim.SGD(twinA.parameters().Concat(twinB.parameters()), root.GetProperty("learning_rate").GetDouble());
        var labels = Longs(root.GetProperty("labels"));
        var dynamic = torch.tensor(labels, ScalarType.Int64);
        var mask = torch.tensor(root.GetProperty("held_in_by_a").EnumerateArray().Select(e => e.GetBoolean()).ToArray());
        var batches = root.GetProperty("batches").EnumerateArray().Select(Longs).ToArray();
        var uniforms = root.GetProperty("uniforms").EnumerateArray().ToArray();
        var dynamics = root.GetProperty("dynamic_labels").EnumerateArray().Select(Longs).ToArray();
        var expected = Doubles(root.GetProperty("losses"));
        double worst = 0;
        twinA.train();
        twinB.train();
        for (int b = 0; b < batches.Length; b++)
        {
            using var stepScope = NewDisposeScope();
            using var batch = train.GetBatch(batches[b]);
            var u = Doubles(uniforms[b]).Select(v => (float)v).ToArray();
            var loss = XrmIdentifier.Step(twinA, twinB, sgd, batch.Inputs, torch.tensor(batches[b]), dynamic, mask, u, k);
            worst = Math.Max(worst, Check(expected[b], loss.item<float>(), $"xrm: loss of step {b + 1}"));
            Assert.Equal(dynamics[b], dynamic.data<long>().ToArray());
        }
        Assert.NotEqual(labels, dynamic.data<long>().ToArray());   // the fixture flips some labels
        worst = Math.Max(worst, CompareParameters(twinA, root.GetProperty("final_a"), "xrm twin A"));
        worst = Math.Max(worst, CompareParameters(twinB, root.GetProperty("final_b"), "xrm twin B"));

        var identifier = new XrmIdentifier(() => throw new InvalidOperationException("no twins are built here"), _ => throw new InvalidOperationException("no optimizer is built here"), new SeedSource(0));
        bool degenerate = false;
        var groups = identifier.ReadOut(twinA, twinB, train, "train", ref degenerate, 0);
        var crossMistakes = Longs(root.GetProperty("cross_mistakes"));
        var env = groups.Groups.ToArray().Select((g, i) => (long)(g - 2 * (int)labels[i])).ToArray();   // group 2y + cross-mistake
        Assert.Equal(crossMistakes, env);
        output.WriteLine(string.Create(CultureInfo.InvariantCulture, $"XRM: max deviation {worst:E2} over {batches.Length} losses and both twins' final parameters; dynamic labels and {crossMistakes.Sum()} cross-mistakes equal"));
    }
}
