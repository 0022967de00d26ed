using System.Diagnostics;
using GroupRobust.Identification;
using GroupRobust.Sampling;
using TorchSharp;

namespace GroupRobust.Benchmarks;

/// <summary>
/// Identification (an eval pass of a linear model) and partition building on 1M and 10M generated samples, then one JTT
/// epoch: time and peak memory after each stage. The model predicts from the spurious feature, as an ERM model in phase I
/// does, so its error set is the 5% minority.
/// </summary>
internal static class ScaleBenchmark
{
    public static void Run(IEnumerable<int> sizes)
    {
        Console.WriteLine("| samples | labels build s | identification + partition s | |E| | peak working set after identification MB | JTT epoch (lambda 5) s | indices | peak working set after JTT MB |");
        Console.WriteLine("|---:|---:|---:|---:|---:|---:|---:|---:|");
        foreach (var n in sizes)
        {
            var clock = Stopwatch.StartNew();
            var data = new GeneratedDataset(n);
            double build = clock.Elapsed.TotalSeconds;
            using var model = torch.nn.Linear(2, 2);
            using (torch.no_grad())
            {
                model.weight!.copy_(torch.tensor(new float[] { -1, 0, 1, 0 }, [2, 2]));
                model.bias!.copy_(torch.tensor(new float[] { 0.5f, -0.5f }));
            }
            clock.Restart();
            var partition = new MisclassificationIdentifier(model, new IdentificationOptions { BatchSize = 16_384 }).Identify(data);
            double identify = clock.Elapsed.TotalSeconds;
            var process = Process.GetCurrentProcess();
            process.Refresh();
            long afterIdentify = process.PeakWorkingSet64;
            clock.Restart();
            var epoch = new JttReweighter(partition, 5, 0).IndicesForEpoch(0);
            double jtt = clock.Elapsed.TotalSeconds;
            process.Refresh();
            Console.WriteLine($"| {n:N0} | {build:F2} | {identify:F2} | {partition.MinorityCount:N0} | {afterIdentify / 1e6:F0} | {jtt:F2} | {epoch.Length:N0} | {process.PeakWorkingSet64 / 1e6:F0} |");
        }
    }
}
