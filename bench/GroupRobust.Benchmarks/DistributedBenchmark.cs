using System.Diagnostics;
using GroupRobust.Data;
using GroupRobust.Data.FashionMnist;
using GroupRobust.Distributed;
using GroupRobust.Identification;
using GroupRobust.Methods;
using GroupRobust.Randomness;
using GroupRobust.Study.Models;
using TorchSharp;
using static TorchSharp.torch;

namespace GroupRobust.Benchmarks;

/// <summary>
/// Epoch time of data-parallel training through the method contract: the Study's small CNN on Spurious Fashion-MNIST
/// (10,000 images), global batch 128, one torch thread per process, run as one process (<c>dotnet ... distributed</c>)
/// or as N ranks (<c>mpirun -np N dotnet ... distributed</c>), for ERM or JM1 (input; partners drawn for the global
/// batch). Rank 0 prints the median epoch time, the share of it spent in the gradient all-reduce, and for JM1 the time
/// of the sharded identification pass. bench/run-distributed.sh runs both job sizes and prints the speed-ups.
/// </summary>
internal static class DistributedBenchmark
{
    public static void Run(int epochs, string methodName)
    {
        torch.set_num_threads(1);
        using var mpi = new MpiCollective();
        using var data = SpuriousFashionMnist.Load(new SpuriousFashionMnistOptions { TrainSize = 10_000, Seed = 0 });
        torch.random.manual_seed(1);
        using var model = SmallCnn.Create(2);
        GradientAveraging.BroadcastParameters(model, mpi);
        using var opt = torch.optim.SGD(model.parameters(), 0.05);
        const int globalBatch = 128;
        var identify = Stopwatch.StartNew();
        ITrainingMethod method;
        if (methodName == "jm1")
        {
            // an error set from the initial model's mistakes: the identification pass is what is timed here
            var errorSet = DistributedIdentification.Identify(new MisclassificationIdentifier(model), data.Train, mpi);
            method = Jm1Method.Jm1(data.Train, errorSet, new SeedSource(7));
        }
        else
        {
            method = new ErmMethod(data.Train, new SeedSource(7));
        }
        identify.Stop();
        JobConfiguration.Verify(mpi, ("method", method.Name), ("globalBatch", globalBatch), ("epochs", epochs));
        var seconds = new List<double>();
        var comm = new List<double>();
        using (method)
        {
            for (int epoch = -1; epoch < epochs; epoch++)   // epoch -1 warms up
            {
                mpi.Barrier();
                var clock = Stopwatch.StartNew();
                var reduce = new Stopwatch();
                foreach (var part in EpochSharding.Shards(method.BeginEpoch(Math.Max(epoch, 0) + 1, epochs), globalBatch, mpi))
                {
                    using var scope = NewDisposeScope();
                    using var batch = data.Train.GetBatch(part);
                    opt.zero_grad();
                    method.PartLoss(model, batch, part).backward();
                    reduce.Start();
                    GradientAveraging.AverageGradients(model, mpi, batch.Size);
                    reduce.Stop();
                    opt.step();
                }
                method.EndEpoch();
                mpi.Barrier();
                if (epoch >= 0)
                {
                    seconds.Add(clock.Elapsed.TotalSeconds);
                    comm.Add(reduce.Elapsed.TotalSeconds);
                }
            }
        }
        if (mpi.Rank == 0)
        {
            int m = seconds.Count / 2;
            var sorted = seconds.Order().ToArray();
            double share = comm.Sum() / seconds.Sum();
            string pass = methodName == "jm1" ? $", identification pass {identify.Elapsed.TotalSeconds:F2} s" : "";
            Console.WriteLine($"{methodName} ranks {mpi.Size}: epoch {sorted[m]:F2} s (median of {epochs}; min {sorted[0]:F2}, max {sorted[^1]:F2}), all-reduce share {share:P1}{pass}, global batch {globalBatch}, 1 torch thread per rank (mpirun binds each rank to a core)");
        }
    }
}
