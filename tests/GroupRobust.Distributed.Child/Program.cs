// Run by tests/GroupRobust.Tests/Distributed/MpiTests under `mpirun -np 2`: one scenario per run, results on stdout.
using GroupRobust;
using GroupRobust.Data;
using GroupRobust.Distributed;
using TorchSharp;
using static TorchSharp.torch;

TorchBackend.EnsureAvailable();
torch.set_num_threads(1);
string scenario = args.Length > 0 ? args[0] : "allreduce";
using var mpi = new MpiCollective();
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
    case "erm":
    {
        int steps = args.Length > 1 ? int.Parse(args[1]) : 20, globalBatch = 32;
        using var data = SyntheticGaussianDataset.Create(new SyntheticGaussianOptions { TrainSize = 640, Seed = 3 });
        nn.Module<Tensor, Tensor> NewModel(long seed)
        {
            torch.random.manual_seed(seed + mpi.Rank * 1000);   // different on every rank: the broadcast must make them equal
            return nn.Sequential(nn.Linear(2, 16), nn.ReLU(), nn.Linear(16, 2));
        }
        var order = Enumerable.Range(0, data.Train.Count).Select(i => (long)((i * 37) % data.Train.Count)).ToArray();
        using var model = NewModel(5);
        GradientAveraging.BroadcastParameters(model, mpi);
        using var opt = torch.optim.SGD(model.parameters(), 0.2);
        int step = 0;
        foreach (var shard in EpochSharding.Shards(order, globalBatch, mpi.Rank, mpi.Size).Take(steps))
        {
            using var scope = NewDisposeScope();
            opt.zero_grad();
            if (shard.Length > 0)
            {
                using var batch = data.Train.GetBatch(shard);
                nn.functional.cross_entropy(model.call(batch.Inputs), batch.Labels).backward();
            }
            GradientAveraging.AverageGradients(model, mpi, shard.Length);
            opt.step();
            step++;
        }
        var mine = model.parameters().SelectMany(p => p.data<float>().ToArray()).ToArray();
        // every rank's replica must be identical: compare with rank 0's by a broadcast
        var root = mine.ToArray();
        mpi.Broadcast(root);
        double replicaDiff = mine.Zip(root, (a, b) => Math.Abs(a - b)).Max();
        if (mpi.Rank == 0)
        {
            // the single-process run: the same initialisation (rank 0's), full global batches
            torch.random.manual_seed(5);
            using var single = nn.Sequential(nn.Linear(2, 16), nn.ReLU(), nn.Linear(16, 2));
            using var singleOpt = torch.optim.SGD(single.parameters(), 0.2);
            foreach (var full in order.Chunk(globalBatch).Take(steps))
            {
                using var scope = NewDisposeScope();
                singleOpt.zero_grad();
                using var batch = data.Train.GetBatch(full);
                nn.functional.cross_entropy(single.call(batch.Inputs), batch.Labels).backward();
                singleOpt.step();
            }
            var reference = single.parameters().SelectMany(p => p.data<float>().ToArray()).ToArray();
            double diff = mine.Zip(reference, (a, b) => Math.Abs(a - b)).Max();
            Console.WriteLine($"steps {step} max-diff {diff:E3} replica-diff {replicaDiff:E3}");
        }
        break;
    }
    case "groupdro":
    {
        int steps = args.Length > 1 ? int.Parse(args[1]) : 20, globalBatch = 32;
        using var data = SyntheticGaussianDataset.Create(new SyntheticGaussianOptions { TrainSize = 640, MinorityFraction = 0.1, Seed = 4 });
        var counts = data.TrainGroupCounts();
        var order = Enumerable.Range(0, data.Train.Count).Select(i => (long)((i * 37) % data.Train.Count)).ToArray();
        torch.random.manual_seed(6 + mpi.Rank * 1000);
        using var model = nn.Sequential(nn.Linear(2, 16), nn.ReLU(), nn.Linear(16, 2));
        GradientAveraging.BroadcastParameters(model, mpi);
        using var opt = torch.optim.SGD(model.parameters(), 0.2);
        using var dro = new GroupRobust.Losses.GroupDroLoss(counts, new GroupRobust.Losses.GroupDroOptions { StepSize = 0.5 });
        DistributedGroupDro.Attach(dro, mpi);
        foreach (var shard in EpochSharding.Shards(order, globalBatch, mpi.Rank, mpi.Size).Take(steps))
        {
            using var scope = NewDisposeScope();
            opt.zero_grad();
            using var batch = data.Train.GetBatch(shard);
            var losses = nn.functional.cross_entropy(model.call(batch.Inputs), batch.Labels, reduction: nn.Reduction.None);
            dro.Forward(losses, batch.Groups!).backward();
            GradientAveraging.AverageGradients(model, mpi, shard.Length);
            opt.step();
        }
        var q = dro.Snapshot().Q;
        // q on rank 0 and on this rank, compared bit for bit through a double all-reduce of the difference
        var delta = new double[q.Length];
        if (mpi.Rank == 0) Array.Copy(q, delta, q.Length); else for (int i = 0; i < q.Length; i++) delta[i] = -q[i];
        mpi.AllReduceSum(delta);
        var mine = model.parameters().SelectMany(p => p.data<float>().ToArray()).ToArray();
        if (mpi.Rank == 0)
        {
            torch.random.manual_seed(6);
            using var single = nn.Sequential(nn.Linear(2, 16), nn.ReLU(), nn.Linear(16, 2));
            using var singleOpt = torch.optim.SGD(single.parameters(), 0.2);
            using var singleDro = new GroupRobust.Losses.GroupDroLoss(counts, new GroupRobust.Losses.GroupDroOptions { StepSize = 0.5 });
            foreach (var full in order.Chunk(globalBatch).Take(steps))
            {
                using var scope = NewDisposeScope();
                singleOpt.zero_grad();
                using var batch = data.Train.GetBatch(full);
                var losses = nn.functional.cross_entropy(single.call(batch.Inputs), batch.Labels, reduction: nn.Reduction.None);
                singleDro.Forward(losses, batch.Groups!).backward();
                singleOpt.step();
            }
            var reference = single.parameters().SelectMany(p => p.data<float>().ToArray()).ToArray();
            double paramDiff = mine.Zip(reference, (a, b) => Math.Abs(a - b)).Max();
            double qDiff = q.Zip(singleDro.Snapshot().Q, (a, b) => Math.Abs(a - b)).Max();
            Console.WriteLine($"groupdro param-diff {paramDiff:E3} q-diff {qDiff:E3} q-ranks-diff {delta.Max(Math.Abs):E3} q {string.Join(" ", q.Select(v => v.ToString("F4")))}");
        }
        break;
    }
    case "early-exit":
        if (mpi.Rank == 1) Environment.Exit(3);   // dies without finalizing
        mpi.Barrier();                              // rank 0 would wait forever without mpirun's clean-up
        Console.WriteLine("rank 0 passed the barrier");
        break;
}
mpi.Barrier();
