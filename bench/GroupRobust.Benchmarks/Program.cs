using BenchmarkDotNet.Running;
using GroupRobust;
using GroupRobust.Benchmarks;

// Usage: micro [BenchmarkDotNet args] | macro [repetitions] [train-size] [--device D] [--model M] [--image-size S] [--batch B]
//        [--dtype fp32|bf16|fp16] [--methods a,b] [--no-one-off] | passes [repetitions] [train-size] [--batch B] ... | scale [sizes...] | soak [epochs] [train-size] | images [count] [passes] | distributed [epochs] [erm|jm1] (under mpirun)
TorchBackend.EnsureAvailable();
string mode = args.Length > 0 ? args[0] : "macro";
int Arg(int i, int fallback) => args.Length > i ? int.Parse(args[i], System.Globalization.CultureInfo.InvariantCulture) : fallback;
switch (mode)
{
    case "micro":
        BenchmarkRunner.Run<MicroBenchmarks>(args: args[1..]);
        return 0;
    case "macro":
        MacroBenchmark.Run(MacroOptions.Parse(args[1..]));
        return 0;
    case "passes":
        PassBenchmark.Run(MacroOptions.Parse(args[1..]));
        return 0;
    case "scale":
        ScaleBenchmark.Run(args.Length > 1 ? args[1..].Select(int.Parse) : [1_000_000, 10_000_000]);
        return 0;
    case "distributed":
        DistributedBenchmark.Run(Arg(1, 3), args.Length > 2 ? args[2] : "erm");
        return 0;
    case "images":
        ImageBenchmark.Run(Arg(1, 256), Arg(2, 3));
        return 0;
    case "soak":
        return SoakBenchmark.Run(Arg(1, 50), Arg(2, 2_000));
    default:
        Console.Error.WriteLine($"Unknown mode '{mode}'. Use micro, macro, passes, scale, soak, images or distributed.");
        return 2;
}
