using System.Runtime.CompilerServices;
using GroupRobust.Catalog;
using GroupRobust.Data;
using GroupRobust.Identification;
using GroupRobust.Methods;
using GroupRobust.Mixing;
using GroupRobust.Randomness;
using GroupRobust.Training;
using TorchSharp;
using static TorchSharp.torch;

namespace GroupRobust.Tests.Methods;

/// <summary>
/// The suites' cases, read from the catalog (<see cref="MethodCatalog.Methods"/>): every training method by its key, on a
/// tiny synthetic task with a model whose layers are "lin1", "act", "fc". A case is <c>KEY[@GROUPS][:VARIANT]</c>: a
/// method that takes groups gets its published ones (an "identified" error set for JTT and JM1, the true groups for
/// GroupDRO and LISA) or, with "@inferred", the error set, with "@eiil", EIIL's environments; ":hidden", ":random" and
/// ":inbatch" are JM1 at a hidden layer (the paper's two passes), at a random layer (paired batches, the default
/// there), and with partners from the batch, ":paired" at a hidden layer with paired batches (<see cref="PartnerSource.Paired"/>). A new catalog entry joins
/// the contract, resume, leak and label-budget suites through this list.
/// </summary>
internal static class MethodFactory
{
    public static readonly string[] Kinds =
    [
        .. MethodCatalog.Methods.Select(e => e.Key),
        .. MethodCatalog.Methods.Where(e => e.PublishedGroups == MethodCatalog.TrueGroups).Select(e => e.Key + "@inferred"),
        "groupdro@eiil", "jm1:hidden", "jm1:random", "jm1:inbatch", "jm1:paired",
    ];

    private static readonly ConditionalWeakTable<ITrainingMethod, OptimizerStep> Steps = [];

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

    /// <summary>The catalog entry of a kind.</summary>
    public static MethodEntry Entry(string kind) => MethodCatalog.Method(kind.Split(':')[0].Split('@')[0]);

    /// <summary>Whether the kind trains with the training split's true groups.</summary>
    public static bool UsesTrainingGroups(string kind) => Entry(kind).PublishedGroups == MethodCatalog.TrueGroups && !kind.Contains('@');

    /// <summary>The optimizer step the kind's catalog entry is published with.</summary>
    public static OptimizerStep StepOf(string kind) => Entry(kind).Step;

    /// <summary>The model a kind trains (the entry's: for LfF a pair of two such models).</summary>
    public static nn.Module<Tensor, Tensor> ModelFor(string kind, int seed) => Entry(kind).CreateModel(Model, new SeedSource(seed));

    /// <summary>The model, initialised from its own generator (not the global one other tests running in parallel reseed).</summary>
    public static nn.Module<Tensor, Tensor> Model(long seed)
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
        var entry = Entry(kind);
        string? groupsSource = kind.Contains('@') ? kind.Split('@')[1].Split(':')[0] : null;
        string? variant = kind.Contains(':') ? kind.Split(':')[1] : null;
        // an "identified" error set: every fifth sample, no training group labels involved
        var errorSet = GroupAssignment.FromErrorSet(Enumerable.Range(0, train.Count).Select(i => i % 5 == 0).ToArray(), train, "test");
        GroupAssignment? groups = !entry.TakesGroups ? null : groupsSource switch
        {
            "inferred" => errorSet,
            "eiil" => Eiil(train, seeds),
            _ => entry.PublishedGroups == MethodCatalog.TrueGroups ? GroupAssignment.FromTrueGroups(train) : errorSet,
        };
        object? options = variant switch
        {
            "hidden" => new Jm1Options { Layer = MixingLayer.Named("act"), Partners = PartnerSource.Dataset },   // the paper's two passes
            "random" => new Jm1Options { Layer = MixingLayer.Random("input", "act", "output") },                // paired batches, the default there
            "inbatch" => new Jm1Options { Layer = MixingLayer.Random("input", "act", "output"), Partners = PartnerSource.Batch },
            "paired" => new Jm1Options { Layer = MixingLayer.Named("act"), Partners = PartnerSource.Paired },
            null => null,
            _ => throw new ArgumentException($"unknown variant {variant}"),
        };
        // GroupDRO with a larger step than the reference's 0.01, so that a few epochs move q visibly
        if (entry == MethodCatalog.GroupDro) options = new GroupDroOptions { StepSize = 0.1 };
        var method = entry.Create(new MethodRequest { Train = train, Groups = groups, Seeds = seeds, Options = options });
        Steps.AddOrUpdate(method, entry.Step);
        return method;
    }

    /// <summary>EIIL's environments from an untrained reference model (a short optimisation; the mechanism has its own tests).</summary>
    private static GroupAssignment Eiil(IGroupDataset train, SeedSource seeds)
    {
        using var reference = Model(5);
        return new EiilIdentifier(reference, seeds.Child("eiil"), new EiilOptions { Steps = 200, LearningRate = 0.05 }).Identify(train);
    }

    /// <summary>Epochs from + 1 to <paramref name="to"/> of <paramref name="total"/> (numbered from 1: <paramref name="from"/> epochs are done) in a hand-written loop, with the method's published optimizer step; returns the last epoch's summary.</summary>
    public static MethodEpochSummary? Train(ITrainingMethod method, nn.Module<Tensor, Tensor> model, TorchSharp.Modules.OptimizerHelper opt, IGroupDataset train, int from, int to, int total)
    {
        var step = Steps.TryGetValue(method, out var s) ? s : OptimizerStep.Plain;
        MethodEpochSummary? last = null;
        for (int epoch = from; epoch < to; epoch++)
        {
            model.train();
            foreach (var batch in train.Batches(method.BeginEpoch(epoch + 1, total), 32))
            {
                using var scope = NewDisposeScope();
                step.Take(method, model, opt, batch);
            }
            last = method.EndEpoch();
        }
        return last;
    }
}
