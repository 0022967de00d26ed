using System.Diagnostics;
using GroupRobust.Data;
using GroupRobust.Data.FashionMnist;
using GroupRobust.Distributed;
using GroupRobust.Study.Models;
using TorchSharp;
using static TorchSharp.torch;

namespace GroupRobust.Benchmarks;

/// <summary>
/// Epoch time of data-parallel ERM: the Study's small CNN on Spurious Fashion-MNIST (10,000 images), global batch 128,
/// one torch thread per process, run as one process (<c>dotnet ... distributed</c>) or as N ranks
/// (<c>mpirun -np N dotnet ... distributed</c>); rank 0 prints the median epoch time and the share of it spent in the
/// gradient all-reduce. bench/run-distributed.sh runs both and prints the speed-up.
/// </summary>
internal static class DistributedBenchmark
{
    public static void Run(int epochs)
    {
        torch.set_num_threads(1);
        using var mpi = new MpiCollective();
        using var data = SpuriousFashionMnist.Load(new SpuriousFashionMnistOptions { TrainSize = 10_000, Seed = 0 });
        torch.random.manual_seed(1);
        using var model = SmallCnn.Create(2);
        GradientAveraging.BroadcastParameters(model, mpi);
        using var opt = torch.optim.SGD(model.parameters(), 0.05);
        const int globalBatch = 128;
        var seconds = new List<double>();
        var comm = new List<double>();
        for (int epoch = -1; epoch < epochs; epoch++)   // epoch -1 warms up
        {
            var order = new ShuffleSampler(data.Train.Count, 7).IndicesForEpoch(Math.Max(epoch, 0));
            mpi.Barrier();
            var clock = Stopwatch.StartNew();
            var reduce = new Stopwatch();
            foreach (var shard in EpochSharding.Shards(order, globalBatch, mpi.Rank, mpi.Size))
            {
                using var scope = NewDisposeScope();
                opt.zero_grad();
                if (shard.Length > 0)
                {
                    using var batch = data.Train.GetBatch(shard);
                    nn.functional.cross_entropy(model.call(batch.Inputs), batch.Labels).backward();
                }
                reduce.Start();
                GradientAveraging.AverageGradients(model, mpi, shard.Length);
                reduce.Stop();
                opt.step();
            }
            mpi.Barrier();
            if (epoch >= 0)
            {
                seconds.Add(clock.Elapsed.TotalSeconds);
                comm.Add(reduce.Elapsed.TotalSeconds);
            }
        }
        if (mpi.Rank == 0)
        {
            int m = seconds.Count / 2;
            var sorted = seconds.Order().ToArray();
            double share = comm.Sum() / seconds.Sum();
            Console.WriteLine($"ranks {mpi.Size}: epoch {sorted[m]:F2} s (median of {epochs}; min {sorted[0]:F2}, max {sorted[^1]:F2}), all-reduce share {share:P1}, global batch {globalBatch}, 1 torch thread per rank (mpirun binds each rank to a core)");
        }
    }
}
