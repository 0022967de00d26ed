using GroupRobust.Catalog;
using GroupRobust.Data;
using GroupRobust.Groups;
using GroupRobust.Identification;
using GroupRobust.Methods;
using GroupRobust.Mixing;
using GroupRobust.Models;
using GroupRobust.Randomness;
using GroupRobust.Tests.TestSupport;
using GroupRobust.Text.Encoders;
using TorchSharp;
using static TorchSharp.torch;

namespace GroupRobust.Tests.Text.Encoders;

/// <summary>Mixing texts: at the token embeddings or a transformer layer (masks combined, padding never leaking in) and at the pooled output; every catalog method on token batches.</summary>
[Collection(LeakCollection.Name)]
public class TextMixingTests
{
    private static EncoderClassifier Classifier(int seed = 0)
    {
        var encoder = BertEncoderTests.NewTiny(TextPooling.Mean, seed: seed);
        return new EncoderClassifier(encoder, nn.Linear(16, 2));
    }

    /// <summary>Puts other valid ids at every padded position (mask 0).</summary>
    private static Tensor Noisy(Tensor tokens, int seed)
    {
        var noisy = tokens.clone();
        using var ids = noisy.select(-1, 0);
        using var mask = noisy.select(-1, 1);
        using var other = torch.randint(5, 40, ids.shape, generator: new Generator((ulong)seed));
        ids.copy_(torch.where(mask.eq(0), other, ids));
        return noisy;
    }

    [Theory]
    [InlineData("encoder.embeddings")]
    [InlineData("encoder.encoder.layer.0")]
    public void Mixing_token_states_attends_to_both_texts_tokens_and_no_padded_position_leaks_in(string layer)
    {
        using var model = Classifier();
        model.eval();
        var pass = new MixedForwardPass(model, [layer], new Random(0));
        using var a = BertEncoderTests.Tokens([4, 8], 9, seed: 1);   // row 0: a short text mixed with a long one; row 1: the other way
        using var b = BertEncoderTests.Tokens([8, 3], 9, seed: 2);
        using var half = torch.full(2, 0.5f);
        using var one = torch.ones(2);
        using var noGrad = torch.no_grad();

        using var plain = model.call(a);
        using var same = pass.Run(a, b, one);
        Assert.True((plain - same).abs().max().ToDouble() < 1e-5);   // c = 1: the batch itself

        using var mixed = pass.Run(a, b, half);
        using var noisyA = Noisy(a, 3);
        using var noisyB = Noisy(b, 4);
        using var noisy = pass.Run(noisyA, noisyB, half);
        Assert.True((mixed - noisy).abs().max().ToDouble() < 1e-5);   // what sits at padded positions never leaks in

        // a token the partner has beyond the batch text's length is attended (the masks' union) ...
        using var b2 = b.clone();
        b2[0, 6, 0] = torch.tensor(b[0, 6, 0].ToInt64() == 7 ? 8L : 7L);
        using var changed = pass.Run(a, b2, half);
        Assert.True((changed[0] - mixed[0]).abs().max().ToDouble() > 1e-4);
        Assert.True((changed[1] - mixed[1]).abs().max().ToDouble() < 1e-6);
        // ... and not when the partner's weight is 0
        using var changedAtOne = pass.Run(a, b2, one);
        Assert.True((changedAtOne - same).abs().max().ToDouble() < 1e-6);
    }

    [Fact]
    public void At_the_output_the_pooled_representations_are_mixed()
    {
        using var model = Classifier(1);
        model.eval();
        var pass = new MixedForwardPass(model, [MixedForwardPass.OutputLayer], new Random(0));
        using var a = BertEncoderTests.Tokens([4, 8, 5], 9, seed: 1);
        using var b = BertEncoderTests.Tokens([8, 3, 9], 9, seed: 2);
        using var c = torch.tensor(new[] { 0.3f, 0.9f, 0.5f });
        using var noGrad = torch.no_grad();
        using var mixed = pass.Run(a, b, c);
        using var ha = model.Encode(a);
        using var hb = model.Encode(b);
        using var expected = model.Head.call(c.unsqueeze(1) * ha + (1 - c.unsqueeze(1)) * hb);
        Assert.True((mixed - expected).abs().max().ToDouble() < 1e-6);
    }

    /// <summary>48 token texts of 2 classes x 2 attributes, varied lengths.</summary>
    private static TensorGroupDataset TokenDataset()
    {
        int n = 48;
        var lengths = Enumerable.Range(0, n).Select(i => 3 + i % 7).ToArray();
        using var tokens = BertEncoderTests.Tokens(lengths, 9, seed: 5);
        var labels = Enumerable.Range(0, n).Select(i => (long)(i % 2)).ToArray();
        var attributes = Enumerable.Range(0, n).Select(i => (long)(i / 2 % 2)).ToArray();
        return new TensorGroupDataset(tokens.clone(), torch.tensor(labels), GroupScheme.Binary(), torch.tensor(attributes));
    }

    private static object WithLayer(object options, MixingLayer layer) => options switch
    {
        Jm1Options o => o with { Layer = layer },
        LisaOptions o => o with { Layer = layer },
        MixupOptions o => o with { Layer = layer },
        GroupJm1Options o => o with { Layer = layer },
        _ => options,
    };

    private static bool MixesInputs(object options) => options switch
    {
        Jm1Options o => o.Layer.Candidates!.Contains(MixedForwardPass.InputLayer),
        LisaOptions o => o.Layer.Candidates!.Contains(MixedForwardPass.InputLayer),
        MixupOptions o => o.Layer.Candidates!.Contains(MixedForwardPass.InputLayer),
        GroupJm1Options o => o.Layer.Candidates!.Contains(MixedForwardPass.InputLayer),
        _ => false,
    };

    [Fact]
    public void Every_catalog_method_trains_on_token_batches_and_the_mixing_ones_at_the_embeddings_or_the_output()
    {
        using var data = TokenDataset();
        var trueGroups = GroupAssignment.FromTrueGroups(data);
        var errorSet = GroupAssignment.FromErrorSet(Enumerable.Range(0, data.Count).Select(i => i % 5 == 0).ToArray(), data, "test");
        using var batch = data.GetBatch(Enumerable.Range(0, 16).Select(i => (long)i).ToArray());
        foreach (var entry in MethodCatalog.Methods)
        {
            var groups = entry.PublishedGroups == MethodCatalog.TrueGroups ? trueGroups : errorSet;
            MixingLayer?[] layers = MixesInputs(entry.Defaults) ? [MixingLayer.Output, MixingLayer.Named("encoder.embeddings")] : [null];
            if (MixesInputs(entry.Defaults))
            {
                // the defaults mix token ids: refused at the door, naming the way out
                using var model = entry.CreateModel(s => Classifier((int)s), new SeedSource(0));
                using var method = entry.Create(new MethodRequest { Train = data, Groups = groups, Seeds = new SeedSource(0) });
                method.BeginEpoch(1, 1);
                Assert.Contains("Output", Assert.Throws<ArgumentException>(() => method.Loss(model, batch)).Message);
            }
            foreach (var layer in layers)
            {
                using var model = entry.CreateModel(s => Classifier((int)s), new SeedSource(0));
                var options = layer is null ? null : WithLayer(entry.Defaults, layer);
                using var method = entry.Create(new MethodRequest { Train = data, Groups = groups, Seeds = new SeedSource(0), Options = options });
                using var optimizer = torch.optim.Adam(model.parameters(), 1e-3);
                method.BeginEpoch(1, 1);
                using var scope = NewDisposeScope();
                var loss = method.Loss(model, batch);
                Assert.True(double.IsFinite(loss.ToDouble()), $"{entry.Key} at {layer}: loss {loss.ToDouble()}");
                loss.backward();
                optimizer.step();
                var summary = method.EndEpoch();
                if (layer is not null && entry.Key != "mixup") Assert.True(summary.Mixing!.Mixed > 0, $"{entry.Key} at {layer} mixed nothing");
            }
        }
    }
}
