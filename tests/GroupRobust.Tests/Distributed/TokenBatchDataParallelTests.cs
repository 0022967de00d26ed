using GroupRobust.Catalog;
using GroupRobust.Data;
using GroupRobust.Distributed;
using GroupRobust.Groups;
using GroupRobust.Identification;
using GroupRobust.Methods;
using GroupRobust.Mixing;
using GroupRobust.Models;
using GroupRobust.Randomness;
using GroupRobust.Tests.Methods;
using GroupRobust.Tests.TestSupport;
using GroupRobust.Tests.Text.Encoders;
using GroupRobust.Text.Encoders;
using TorchSharp;
using static TorchSharp.torch;

namespace GroupRobust.Tests.Distributed;

/// <summary>The data-parallel path on text: token batches [B, L, 3] split into parts like any other input.</summary>
[Collection(LeakCollection.Name)]
public class TokenBatchDataParallelTests
{
    [Fact]
    public void Jm1_at_the_output_on_token_batches_in_a_job_of_one_trains_what_the_plain_loop_trains()
    {
        var config = BertEncoderTests.Tiny with { HiddenDropout = 0, AttentionDropout = 0 };   // no dropout: the two runs draw nothing else
        EncoderClassifier Model() => new(BertEncoderTests.NewTiny(TextPooling.Cls, config, seed: 7), nn.Linear(16, 2));
        int n = 64;
        using var tokens = BertEncoderTests.Tokens(Enumerable.Range(0, n).Select(i => 3 + i % 6).ToArray(), 8, seed: 3);
        using var train = new TensorGroupDataset(tokens.clone(), torch.tensor(Enumerable.Range(0, n).Select(i => (long)(i % 2)).ToArray()), GroupScheme.Binary(),
            torch.tensor(Enumerable.Range(0, n).Select(i => (long)(i / 2 % 2)).ToArray()));
        var errorSet = GroupAssignment.FromErrorSet(Enumerable.Range(0, n).Select(i => i % 4 == 0).ToArray(), train, "test");
        ITrainingMethod Method() => MethodCatalog.Jm1.Create(new MethodRequest { Train = train, Groups = errorSet, Seeds = new SeedSource(5), Options = new Jm1Options { Layer = MixingLayer.Output } });
        using var a = Model();
        using var b = Model();
        using var optA = torch.optim.SGD(a.parameters(), 0.1);
        using var optB = torch.optim.SGD(b.parameters(), 0.1);
        using var plain = Method();
        using var parallel = Method();
        using var job = new LoopbackCollective(1);
        var expected = MethodFactory.Train(plain, a, optA, train, 0, 2, 2)!;
        MethodEpochSummary? actual = null;
        for (int epoch = 1; epoch <= 2; epoch++) actual = DataParallel.TrainEpoch(parallel, b, optB, train, epoch, 2, 32, job);
        Assert.Equal(expected.Mixing!.Mixed, actual!.Mixing!.Mixed);
        foreach (var ((name, p), (_, q)) in a.named_parameters().Zip(b.named_parameters()))
            Assert.True(p.allclose(q, 1e-5, 1e-6), $"parameter {name} differs");
    }
}
