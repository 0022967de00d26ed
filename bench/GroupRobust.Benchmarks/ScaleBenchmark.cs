using System.Diagnostics;
using GroupRobust.Identification;
using GroupRobust.Reweighting;
using TorchSharp;

namespace GroupRobust.Benchmarks;

/// <summary>Identification (an eval pass of a linear model) and partition building on 1M and 10M generated samples: time and peak memory.</summary>
internal static class ScaleBenchmark
{
    public static void Run(IEnumerable<int> sizes)
    {
        Console.WriteLine("| samples | dataset build s | identification s | partition |E| | JTT epoch (lambda 5) s | peak working set MB | managed heap MB |");
        Console.WriteLine("|---:|---:|---:|---:|---:|---:|---:|");
        foreach (var n in sizes)
        {
            var clock = Stopwatch.StartNew();
            var data = new GeneratedDataset(n);
            double build = clock.Elapsed.TotalSeconds;
            torch.random.manual_seed(0);
            using var model = torch.nn.Linear(2, 2);
            clock.Restart();
            var partition = new MisclassificationIdentifier(model, new IdentificationOptions { BatchSize = 16_384 }).Identify(data);
            double identify = clock.Elapsed.TotalSeconds;
            clock.Restart();
            var epoch = new JttReweighter(partition, 5, 0).IndicesForEpoch(0);
            double jtt = clock.Elapsed.TotalSeconds;
            var process = Process.GetCurrentProcess();
            process.Refresh();
            Console.WriteLine($"| {n:N0} | {build:F2} | {identify:F2} | {partition.ErrorCount:N0} | {jtt:F2} ({epoch.Length:N0} indices) | {process.PeakWorkingSet64 / 1e6:F0} | {GC.GetTotalMemory(false) / 1e6:F0} |");
        }
    }
}
