using GroupRobust.Data;
using GroupRobust.Identification;
using GroupRobust.Methods;
using GroupRobust.Mixing;
using GroupRobust.Randomness;
using TorchSharp;
using static TorchSharp.torch;

namespace GroupRobust.Tests.Methods;

/// <summary>Every method of the library by a short name, on a tiny synthetic task with a model whose layers are "lin1", "act", "fc".</summary>
internal static class MethodFactory
{
    public static readonly string[] Kinds =
        ["erm", "jtt", "jm1", "jm1-hidden", "jm1-random", "jm1-inbatch", "jm1plus", "cmixup", "unconditional", "mixup", "groupdro", "groupdro-inferred", "groupjm1", "groupjm1-dro", "cvar", "lff", "lisa", "lisa-inferred", "eiil-groupdro"];

    public static TheoryData<string> All()
    {
        var data = new TheoryData<string>();
        foreach (var k in Kinds) data.Add(k);
        return data;
    }

    public static DatasetSplits Data(int trainSize = 300)
        => SyntheticGaussianDataset.Create(new SyntheticGaussianOptions { TrainSize = trainSize, ValidationSize = 100, TestSize = 100, SpuriousScale = 3, Seed = 4 });

    /// <summary>The kinds whose training reads no training group label.</summary>
    public static readonly string[] WithoutTrainingGroups = Kinds.Where(k => !UsesTrainingGroups(k)).ToArray();

    /// <summary>Whether the kind trains with the training split's true groups.</summary>
    public static bool UsesTrainingGroups(string kind) => kind is "groupdro" or "groupjm1" or "groupjm1-dro" or "lisa";

    /// <summary>The model a kind trains: <see cref="Model"/>, or for LfF a pair of two such models.</summary>
    public static nn.Module<Tensor, Tensor> ModelFor(string kind, int seed)
        => kind == "lff" ? new LffModel(Model(seed), Model(seed + 1000)) : Model(seed);

    /// <summary>The model, initialised from its own generator (not the global one other tests running in parallel reseed).</summary>
    public static nn.Module<Tensor, Tensor> Model(int seed)
    {
        var model = nn.Sequential(("lin1", nn.Linear(2, 16)), ("act", nn.ReLU()), ("fc", nn.Linear(16, 2)));
        using var generator = new torch.Generator((ulong)seed);
        using var noGrad = torch.no_grad();
        foreach (var p in model.parameters())
        {
            using var init = torch.randn(p.shape, generator: generator).mul_(0.4);
            p.copy_(init);
        }
        return model;
    }

    public static ITrainingMethod Make(string kind, DatasetSplits data, SeedSource seeds)
    {
        var train = data.Train;
        // an "identified" error set: every fifth sample, no training group labels involved
        var errorSet = GroupAssignment.FromErrorSet(Enumerable.Range(0, train.Count).Select(i => i % 5 == 0).ToArray(), train, "test");
        GroupAssignment Truth() => GroupAssignment.FromTrueGroups(train);
        return kind switch
        {
            "erm" => new ErmMethod(train, seeds),
            "jtt" => new JttMethod(errorSet, 3, seeds),
            "jm1" => Jm1Method.Jm1(train, errorSet, seeds),
            "jm1-hidden" => Jm1Method.Jm1(train, errorSet, seeds, new Jm1Options { Layer = MixingLayer.Named("act") }),
            "jm1-random" => Jm1Method.Jm1(train, errorSet, seeds, new Jm1Options { Layer = MixingLayer.Random("input", "act", "output") }),
            "jm1-inbatch" => Jm1Method.Jm1(train, errorSet, seeds, new Jm1Options { Layer = MixingLayer.Random("input", "act", "output"), Partners = PartnerSource.Batch }),
            "jm1plus" => Jm1Method.Jm1Plus(train, errorSet, 2, seeds),
            "cmixup" => Jm1Method.ClassConditionalMixup(train, seeds),
            "unconditional" => Jm1Method.UnconditionalJm1(train, errorSet, seeds),
            "mixup" => new MixupMethod(train, seeds),
            "groupdro" => new GroupDroMethod(Truth(), seeds, new GroupRobust.Methods.GroupDroOptions { StepSize = 0.1 }),
            "groupdro-inferred" => new GroupDroMethod(errorSet, seeds, new GroupRobust.Methods.GroupDroOptions { StepSize = 0.1 }),
            "groupjm1" => new GroupJm1Method(train, Truth(), seeds),
            "groupjm1-dro" => new GroupJm1Method(train, Truth(), seeds, robustLoss: new GroupDroLoss(Truth())),
            "cvar" => new CvarDroMethod(train, seeds, 0.3),
            "lff" => new LffMethod(train, seeds),
            "lisa" => new LisaMethod(train, Truth(), seeds),
            "lisa-inferred" => new LisaMethod(train, errorSet, seeds),
            "eiil-groupdro" => new GroupDroMethod(Eiil(train, seeds), seeds, new GroupRobust.Methods.GroupDroOptions { StepSize = 0.1 }),
            _ => throw new ArgumentException($"unknown kind {kind}"),
        };
    }

    /// <summary>EIIL's environments from an untrained reference model (a short optimisation; the mechanism has its own tests).</summary>
    private static GroupAssignment Eiil(IGroupDataset train, SeedSource seeds)
    {
        using var reference = Model(5);
        return new EiilIdentifier(reference, seeds.Child("eiil"), new EiilOptions { Steps = 200, LearningRate = 0.05 }).Identify(train);
    }

    /// <summary>Epochs [from, to) of <paramref name="total"/> in a hand-written loop; returns the last epoch's summary.</summary>
    public static MethodEpochSummary? Train(ITrainingMethod method, nn.Module<Tensor, Tensor> model, TorchSharp.Modules.OptimizerHelper opt, IGroupDataset train, int from, int to, int total)
    {
        MethodEpochSummary? last = null;
        for (int epoch = from; epoch < to; epoch++)
        {
            model.train();
            foreach (var batch in train.Batches(method.BeginEpoch(epoch, total), 32))
            {
                using var scope = NewDisposeScope();
                opt.zero_grad();
                method.Loss(model, batch).backward();
                opt.step();
            }
            last = method.EndEpoch();
        }
        return last;
    }
}
