using GroupRobust.Catalog;
// Run by tests/GroupRobust.Tests/Distributed/MpiTests under `mpirun -np 2`: one scenario per run, results on stdout.
using System.Globalization;
using GroupRobust;
using GroupRobust.Checkpoints;
using GroupRobust.Data;
using GroupRobust.Distributed;
using GroupRobust.Evaluation;
using GroupRobust.Identification;
using GroupRobust.Methods;
using GroupRobust.Mixing;
using GroupRobust.Randomness;
using TorchSharp;
using static TorchSharp.torch;

TorchBackend.EnsureAvailable();
torch.set_num_threads(1);
CultureInfo.DefaultThreadCurrentCulture = CultureInfo.InvariantCulture;
string scenario = args.Length > 0 ? args[0] : "allreduce";
using var mpi = new MpiCollective();

// A model whose layers are "lin1", "act", "fc"; its initial weights differ on every rank until the broadcast.
nn.Module<Tensor, Tensor> NewModel(int seed, bool perRank = true)
{
    torch.random.manual_seed(seed + (perRank ? mpi.Rank * 1000 : 0));
    return nn.Sequential(("lin1", nn.Linear(2, 16)), ("act", nn.ReLU()), ("fc", nn.Linear(16, 2)));
}

float[] Flat(nn.Module model) => model.parameters().SelectMany(p => p.data<float>().ToArray()).ToArray();

double MaxDiff(float[] a, float[] b) => a.Zip(b, (x, y) => (double)Math.Abs(x - y)).Max();

// this rank's parameters against rank 0's, bit for bit (0 when identical)
double ReplicaDiff(nn.Module model)
{
    var mine = Flat(model);
    var root = mine.ToArray();
    mpi.Broadcast(root);
    return MaxDiff(mine, root);
}

// data-parallel epochs: every rank takes its part of each global batch; returns the last epoch's summary
MethodEpochSummary TrainSharded(ITrainingMethod method, nn.Module<Tensor, Tensor> model, torch.optim.Optimizer opt, IGroupDataset train, int globalBatch, int from, int to, int total)
{
    MethodEpochSummary? last = null;
    for (int epoch = from; epoch < to; epoch++)
    {
        foreach (var part in EpochSharding.Shards(method.BeginEpoch(epoch + 1, total), globalBatch, mpi))
        {
            using var scope = NewDisposeScope();
            using var batch = train.GetBatch(part);
            opt.zero_grad();
            method.PartLoss(model, batch, part).backward();
            GradientAveraging.AverageGradients(model, mpi, batch.Size);
            opt.step();
        }
        last = method.EndEpoch();
    }
    return last!;
}

// the one-process run: whole global batches
MethodEpochSummary TrainSingle(ITrainingMethod method, nn.Module<Tensor, Tensor> model, torch.optim.Optimizer opt, IGroupDataset train, int globalBatch, int epochs)
{
    MethodEpochSummary? last = null;
    for (int epoch = 0; epoch < epochs; epoch++)
    {
        foreach (var batch in train.Batches(method.BeginEpoch(epoch + 1, epochs), globalBatch))
        {
            using var scope = NewDisposeScope();
            opt.zero_grad();
            method.Loss(model, batch).backward();
            opt.step();
        }
        last = method.EndEpoch();
    }
    return last!;
}

// 321 rows in global batches of 32: the last batch has one row, so rank 1's part of it is empty
DatasetSplits Data(int seed) => SyntheticGaussianDataset.Create(new SyntheticGaussianOptions { TrainSize = 321, ValidationSize = 101, TestSize = 50, MinorityFraction = 0.1, SpuriousScale = 3, Seed = seed });

GroupAssignment ErrorSet(IGroupDataset train) => GroupAssignment.FromErrorSet(Enumerable.Range(0, train.Count).Select(i => i % 5 == 0).ToArray(), train, "test");

switch (scenario)
{
    case "allreduce":
    {
        var f = new float[] { mpi.Rank + 1, 10 };
        var d = new double[] { (mpi.Rank + 1) * 0.5 };
        var l = new long[] { 1L << 40, mpi.Rank };
        mpi.AllReduceSum(f);
        mpi.AllReduceSum(d);
        mpi.AllReduceSum(l);
        var b = new float[] { mpi.Rank == 0 ? 42 : -1 };
        mpi.Broadcast(b);
        Console.WriteLine($"rank {mpi.Rank}/{mpi.Size}: float {f[0]} {f[1]} double {d[0]} long {l[0]} {l[1]} broadcast {b[0]}");
        break;
    }
    case "method":
    {
        // a method trained for 2 epochs on 2 ranks (global batch 32, 16 rows each) and in one process (32 rows)
        string kind = args[1];
        const int globalBatch = 32, epochs = 2;
        using var data = Data(3);
        var train = data.Train;
        ITrainingMethod Make()
        {
            // KEY[:VARIANT]: a catalog method on an error set (or, for GroupDRO, the true groups); JM1 variants set the layer
            var entry = MethodCatalog.Method(kind.Split(':')[0]);
            object? options = kind.Split(':') is [_, var variant] ? variant switch
            {
                "hidden" => new Jm1Options { Layer = MixingLayer.Named("act"), Partners = PartnerSource.Dataset },   // the paper's two passes
                "random-inbatch" => new Jm1Options { Layer = MixingLayer.Random("input", "act", "output"), Partners = PartnerSource.Batch },
                "random-paired" => new Jm1Options { Layer = MixingLayer.Random("input", "act", "output"), Partners = PartnerSource.Paired },
                _ => throw new ArgumentException($"unknown variant {variant}"),
            } : entry == MethodCatalog.GroupDro ? new GroupDroOptions { StepSize = 0.5 } : entry == MethodCatalog.Jtt ? new JttOptions { Lambda = 3 } : null;
            var groups = entry.PublishedGroups == MethodCatalog.TrueGroups ? GroupAssignment.FromTrueGroups(train) : ErrorSet(train);
            return entry.Create(new MethodRequest { Train = train, Groups = entry.TakesGroups ? groups : null, Seeds = new SeedSource(7), Options = options });
        }
        using var method = Make();
        if (method is GroupDroMethod dro) DistributedGroupDro.Attach(dro.RobustLoss, mpi);
        JobConfiguration.Verify(mpi, ("dataset", train.Count), ("globalBatch", globalBatch), ("method", method.Name), ("epochs", epochs));
        using var model = NewModel(5);
        GradientAveraging.BroadcastParameters(model, mpi);
        using var opt = torch.optim.SGD(model.parameters(), 0.2);
        var summary = TrainSharded(method, model, opt, train, globalBatch, 0, epochs, epochs);
        double replicas = ReplicaDiff(model);
        ReplicaCheck.Verify(model, mpi, method);   // generators and statistics identical on both ranks
        var q = (method as GroupDroMethod)?.RobustLoss.Snapshot().Q;
        var mine = Flat(model);
        if (mpi.Rank == 0)
        {
            using var single = Make();
            using var singleModel = NewModel(5, perRank: false);
            using var singleOpt = torch.optim.SGD(singleModel.parameters(), 0.2);
            var singleSummary = TrainSingle(single, singleModel, singleOpt, train, globalBatch, epochs);
            double qDiff = q is null ? 0 : q.Zip(((GroupDroMethod)single).RobustLoss.Snapshot().Q, (a, b) => Math.Abs(a - b)).Max();
            bool sameMixing = summary.Mixing?.ToString() == singleSummary.Mixing?.ToString();
            Console.WriteLine($"method {kind} param-diff {MaxDiff(mine, Flat(singleModel)):E3} replica-diff {replicas:E3} q-diff {qDiff:E3} same-mixing {sameMixing} mixing [{summary.Mixing}]");
        }
        break;
    }
    case "identify":
    {
        // sharded identification and evaluation against the one-process results, after a short data-parallel ERM run
        using var data = Data(8);
        using var erm = new ErmMethod(data.Train, new SeedSource(2));
        using var model = NewModel(9);
        GradientAveraging.BroadcastParameters(model, mpi);
        using var opt = torch.optim.SGD(model.parameters(), 0.1);
        TrainSharded(erm, model, opt, data.Train, 32, 0, 3, 3);
        var options = new IdentificationOptions { BatchSize = 17 };
        var identifiers = new (string Name, IGroupIdentifier Identifier)[]
        {
            ("misclassification", new MisclassificationIdentifier(model, options)),
            ("loss-magnitude", new LossMagnitudeIdentifier(model, 0.2, perClass: true, options)),
            ("eiil", new EiilIdentifier(model, new SeedSource(4), new EiilOptions { Steps = 50, Pass = options })),
        };
        foreach (var (name, identifier) in identifiers)
        {
            var sharded = DistributedIdentification.Identify(identifier, data.Train, mpi);
            var single = identifier.Identify(data.Train);
            bool same = sharded.Groups.Span.SequenceEqual(single.Groups.Span) && sharded.NumGroups == single.NumGroups
                && Enumerable.Range(0, sharded.NumGroups).All(g => sharded.IsMinorityGroup(g) == single.IsMinorityGroup(g));
            Console.WriteLine($"rank {mpi.Rank} identify {name} same {same} error-set {sharded.Groups.ToArray().Count(g => sharded.IsMinorityGroup(g))}");
        }
        using var evaluator = new WorstGroupEvaluator(data.Validation.Scheme, new EvaluatorOptions { BootstrapSamples = 200 });
        foreach (var split in new[] { ("validation", data.Validation), ("test", data.Test) })
        {
            var sharded = DistributedEvaluation.Evaluate(evaluator, model, split.Item2, mpi, batchSize: 13, trainGroupCounts: data.TrainGroupCounts());
            var single = evaluator.Evaluate(model, split.Item2, batchSize: 13, trainGroupCounts: data.TrainGroupCounts());
            Console.WriteLine($"rank {mpi.Rank} evaluate {split.Item1} same {sharded.ToJson() == single.ToJson()} worst {sharded.WorstGroupAccuracy:F4}");
        }
        var errorSet = DistributedIdentification.Identify(identifiers[0].Identifier, data.Train, mpi);
        using var perInferred = new WorstGroupEvaluator(errorSet.Scheme, new EvaluatorOptions { BootstrapSamples = 0 });
        bool sameInferred = DistributedEvaluation.Evaluate(perInferred, model, data.Train, errorSet, mpi).ToJson() == perInferred.Evaluate(model, data.Train, errorSet).ToJson();
        Console.WriteLine($"rank {mpi.Rank} evaluate inferred-groups same {sameInferred}");
        break;
    }
    case "checkpoint":
    {
        // 2 epochs, a rank-0 checkpoint, 2 more epochs; then fresh replicas load the checkpoint and train the same 2 epochs
        string path = Path.Combine(args[1], "job.ckpt");
        using var data = Data(3);
        var train = data.Train;
        const int epochs = 4;
        Jm1Method Make() => Jm1Method.Jm1(train, ErrorSet(train), new SeedSource(7), new Jm1Options { Layer = MixingLayer.Random("input", "act", "output") });
        using var method = Make();
        using var model = NewModel(5);
        GradientAveraging.BroadcastParameters(model, mpi);
        using var opt = torch.optim.Adam(model.parameters(), 0.01);
        TrainSharded(method, model, opt, train, 32, 0, 2, epochs);
        DistributedCheckpoint.Save(mpi, path, model, opt, new CheckpointState { Epoch = 2, Method = method.GetState() }, method);
        bool written = File.Exists(path);
        TrainSharded(method, model, opt, train, 32, 2, epochs, epochs);
        var uninterrupted = Flat(model);

        using var resumedMethod = Make();
        using var resumed = NewModel(77);                 // different weights on every rank: the load must replace them
        using var resumedOpt = torch.optim.Adam(resumed.parameters(), 0.01);
        var state = DistributedCheckpoint.Load(mpi, path, resumed, resumedOpt, resumedMethod);
        TrainSharded(resumedMethod, resumed, resumedOpt, train, 32, state.Epoch, epochs, epochs);
        Console.WriteLine($"rank {mpi.Rank} checkpoint written {written} resumed-diff {MaxDiff(uninterrupted, Flat(resumed)):E3} replica-diff {ReplicaDiff(resumed):E3}");
        // a load that only rank 1 cannot apply (its optimizer is of another type): rank 0, which could, is put back too
        var before = Flat(resumed);
        string methodBefore = string.Join(",", resumedMethod.GetState().Generators.SelectMany(kv => kv.Value));
        using var otherOpt = torch.optim.SGD(resumed.parameters(), 0.01);
        try
        {
            DistributedCheckpoint.Load(mpi, path, resumed, mpi.Rank == 1 ? otherOpt : resumedOpt, resumedMethod);
        }
        catch (Exception ex) when (ex is IOException or FormatException)
        {
            bool unchanged = MaxDiff(before, Flat(resumed)) == 0 && methodBefore == string.Join(",", resumedMethod.GetState().Generators.SelectMany(kv => kv.Value));
            Console.WriteLine($"rank {mpi.Rank} failed-load {ex.GetType().Name} unchanged {unchanged}");
        }
        // a file no rank can read: every rank fails with the same message, none hangs
        try
        {
            DistributedCheckpoint.Load(mpi, path + ".missing", resumed, resumedOpt, resumedMethod);
        }
        catch (IOException ex)
        {
            Console.WriteLine($"rank {mpi.Rank} missing-file {ex.GetType().Name}");
        }
        break;
    }
    case "batchnorm":
    {
        // BatchNorm's running statistics ride in the gradient bucket: the replicas stay identical and can be saved
        using var data = Data(3);
        using var method = Jm1Method.Jm1(data.Train, ErrorSet(data.Train), new SeedSource(7));
        torch.random.manual_seed(5 + mpi.Rank);
        using var model = nn.Sequential(("lin1", nn.Linear(2, 16)), ("bn", nn.BatchNorm1d(16)), ("act", nn.ReLU()), ("fc", nn.Linear(16, 2)));
        GradientAveraging.BroadcastParameters(model, mpi);
        using var opt = torch.optim.SGD(model.parameters(), 0.1);
        TrainSharded(method, model, opt, data.Train, 32, 0, 2, 2);
        ReplicaCheck.Verify(model, mpi, method);
        DistributedCheckpoint.Save(mpi, Path.Combine(args[1], "bn.ckpt"), model, opt, new CheckpointState { Epoch = 2, Method = method.GetState() }, method);
        var running = model.state_dict()["bn.running_mean"].data<float>().ToArray();
        Console.WriteLine($"rank {mpi.Rank} batchnorm replicas identical, saved; batches tracked {model.state_dict()["bn.num_batches_tracked"].ToInt64()}, running mean moved {running.Any(v => v != 0)}");
        break;
    }
    case "mismatch":
    {
        // rank 1 was started with another global batch: both ranks must stop with one clear message
        int globalBatch = mpi.Rank == 0 ? 32 : 64;
        JobConfiguration.Verify(mpi, ("dataset", 321), ("globalBatch", globalBatch), ("method", "JM1 (input)"));
        Console.WriteLine($"rank {mpi.Rank} passed the check");
        break;
    }
    case "mismatch-model":
    {
        using var model = mpi.Rank == 0 ? NewModel(1) : nn.Sequential(("lin1", nn.Linear(2, 8)), ("act", nn.ReLU()), ("fc", nn.Linear(8, 2)));
        GradientAveraging.BroadcastParameters(model, mpi);
        Console.WriteLine($"rank {mpi.Rank} passed the broadcast");
        break;
    }
    case "mismatch-layout":
    {
        // no broadcast: the ranks' models differ in size (82 numbers against 42), so their gradient buckets would differ in length
        using var model = mpi.Rank == 0 ? NewModel(1) : nn.Sequential(("lin1", nn.Linear(2, 8)), ("act", nn.ReLU()), ("fc", nn.Linear(8, 2)));
        using var x = torch.randn(8, 2);
        using var y = torch.zeros(8, ScalarType.Int64);
        using (var loss = nn.functional.cross_entropy(model.call(x), y)) loss.backward();
        GradientAveraging.AverageGradients(model, mpi, 8);
        Console.WriteLine($"rank {mpi.Rank} passed the averaging");
        break;
    }
    case "throw":
        if (mpi.Rank == 1) throw new InvalidOperationException("bad data on rank 1");
        mpi.Barrier();                              // rank 0 would wait forever without the abort
        Console.WriteLine("rank 0 passed the barrier");
        break;
    case "early-exit":
        if (mpi.Rank == 1) Environment.Exit(3);   // dies without finalizing
        mpi.Barrier();                              // rank 0 would wait forever without mpirun's clean-up
        Console.WriteLine("rank 0 passed the barrier");
        break;
    default:
        throw new ArgumentException($"unknown scenario {scenario}");
}
mpi.Barrier();
