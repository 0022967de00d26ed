using System.Diagnostics;
using GroupRobust.Evaluation;
using GroupRobust.Identification;
using TorchSharp;
using static TorchSharp.torch;

namespace GroupRobust.Benchmarks;

/// <summary>
/// Identification and evaluation against the raw TorchSharp pass over the same batches: an eval-mode, no-grad forward
/// of the stored training tensor in slices, the arg-max compared with the labels, the flags (identification) or the
/// per-group correct counts (evaluation) kept on the device and read once at the end. The library rows are
/// <see cref="MisclassificationIdentifier"/> and <see cref="WorstGroupEvaluator"/> (without and with its default 1,000
/// bootstrap resamples) at the same batch size. Rows interleaved per repetition; ratios to the raw pass of the same kind.
/// </summary>
internal static class PassBenchmark
{
    public static void Run(MacroOptions options)
    {
        using var work = new MacroWorkload(options);
        var train = work.Train;
        using var model = work.NewModel(0);
        int batch = options.BatchSize;
        long n = train.Count;
        int groups = train.Scheme.NumGroups;
        using var labels = torch.tensor(train.Labels.ToArray().Select(l => (long)l).ToArray(), device: train.Device);
        using var groupIds = torch.tensor(train.Groups.ToArray().Select(g => (long)g).ToArray(), device: train.Device);
        Console.WriteLine($"Pass benchmark: {options.Repetitions} repetitions over {n} training samples, {options.Model} ({options.Dtype}) on {options.DeviceName}, batch {batch}, " +
                          $"{Environment.ProcessorCount} cores, torch threads {torch.get_num_threads()}.");
        var rows = new[] { "raw identification", "identification (MisclassificationIdentifier)", "raw evaluation", "evaluation (WorstGroupEvaluator, no bootstrap)", "evaluation (default: 1,000 bootstrap resamples)" };
        var seconds = rows.ToDictionary(r => r, _ => new List<double>());
        var plain = new WorstGroupEvaluator(train.Scheme, new EvaluatorOptions { BootstrapSamples = 0 });
        var bootstrapped = new WorstGroupEvaluator(train.Scheme);
        var identifier = new MisclassificationIdentifier(model, new IdentificationOptions { BatchSize = batch });
        long checkWrong = -1;
        for (int rep = -1; rep < options.Repetitions; rep++)   // rep -1 warms up
        {
            foreach (var row in rows)
            {
                work.Synchronize();
                var clock = Stopwatch.StartNew();
                switch (row)
                {
                    case "raw identification":
                        checkWrong = RawIdentify(model, train.Inputs, labels, batch).Count(w => w);
                        break;
                    case "identification (MisclassificationIdentifier)":
                        long wrong = identifier.Identify(train).MinorityCount;
                        if (checkWrong >= 0 && wrong != checkWrong) throw new InvalidOperationException($"The library found {wrong} errors, the raw pass {checkWrong}.");
                        break;
                    case "raw evaluation":
                        RawEvaluate(model, train.Inputs, labels, groupIds, groups, batch);
                        break;
                    case "evaluation (WorstGroupEvaluator, no bootstrap)":
                        plain.Evaluate(model, train, batch);
                        break;
                    default:
                        bootstrapped.Evaluate(model, train, batch);
                        break;
                }
                work.Synchronize();
                if (rep >= 0) seconds[row].Add(clock.Elapsed.TotalSeconds);
            }
            if (rep >= 0) Console.WriteLine($"  repetition {rep + 1}: " + string.Join(", ", rows.Select(r => $"{r} {seconds[r][^1]:F3} s")));
        }
        Console.WriteLine();
        Console.WriteLine("| pass | s (median) | ratio to the raw pass: median | min | max |");
        Console.WriteLine("|---|---:|---:|---:|---:|");
        foreach (var row in rows)
        {
            var raw = seconds[row.Contains("identification", StringComparison.Ordinal) ? rows[0] : rows[2]];
            var (median, min, max) = MacroBenchmark.Ratios(seconds[row], raw);
            Console.WriteLine($"| {row} | {MacroBenchmark.Median(seconds[row]):F3} | {median:F3} | {min:F3} | {max:F3} |");
        }
    }

    private static bool[] RawIdentify(nn.Module<Tensor, Tensor> model, Tensor inputs, Tensor labels, int batch)
    {
        model.eval();
        using var noGrad = torch.no_grad();
        long n = inputs.shape[0];
        using var wrong = torch.zeros(n, ScalarType.Bool, inputs.device);
        for (long i = 0; i < n; i += batch)
        {
            using var scope = NewDisposeScope();
            long b = Math.Min(batch, n - i);
            var logits = model.call(inputs.narrow(0, i, b));
            wrong.narrow(0, i, b).copy_(logits.argmax(1).ne(labels.narrow(0, i, b)));
        }
        using var host = wrong.cpu();
        return host.data<bool>().ToArray();
    }

    private static long[] RawEvaluate(nn.Module<Tensor, Tensor> model, Tensor inputs, Tensor labels, Tensor groupIds, int groups, int batch)
    {
        model.eval();
        using var noGrad = torch.no_grad();
        long n = inputs.shape[0];
        using var correct = torch.zeros(groups, ScalarType.Int64, inputs.device);
        using var one = 1.ToScalar();
        for (long i = 0; i < n; i += batch)
        {
            using var scope = NewDisposeScope();
            long b = Math.Min(batch, n - i);
            var logits = model.call(inputs.narrow(0, i, b));
            var hit = logits.argmax(1).eq(labels.narrow(0, i, b)).to(ScalarType.Int64);
            correct.index_add_(0, groupIds.narrow(0, i, b), hit, one);
        }
        using var host = correct.cpu();
        return host.data<long>().ToArray();
    }
}
