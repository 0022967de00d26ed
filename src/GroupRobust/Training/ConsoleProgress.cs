using System.Globalization;
using GroupRobust.Internal;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace GroupRobust.Training;

/// <summary>
/// Prints one line per epoch: the run, the epoch (numbered from 1, as everywhere in the library), the training loss, the
/// validation average and worst-group accuracy, whether the epoch is the best so far, the epoch's time and the run's ETA
/// (the mean epoch time of the run so far times the epochs left). Pass it as <c>progress</c> to
/// <see cref="TrainingLoop.Run(Methods.ITrainingMethod, TorchSharp.torch.nn.Module{TorchSharp.torch.Tensor, TorchSharp.torch.Tensor}, TorchSharp.Modules.OptimizerHelper, Data.IGroupDataset, Data.IGroupDataset, TrainingLoopOptions, IProgress{EpochReport}?, Microsoft.Extensions.Logging.ILogger?)"/>,
/// or give <see cref="Report(string, EpochReport)"/> to a recipe (<c>RecipeOptions.OnEpoch = console.Report</c>).
/// Thread-safe: lines from several runs never interleave. A writer that fails (a closed pipe, a full disk) never stops
/// training: the first failure is logged as a warning and kept in <see cref="WriteFailure"/>, and nothing more is written.
/// </summary>
/// <example><c>JM1 (input): epoch 3/10  loss 0.4123  val avg 91.2%  worst-group 84.1% (best)  2.3 s  ETA 0:16</c></example>
public sealed class ConsoleProgress : IProgress<EpochReport>
{
    private readonly TextWriter _writer;
    private readonly string? _run;
    private readonly Dictionary<string, (double Seconds, int Epochs, int LastEpoch)> _timing = new(StringComparer.Ordinal);
    private readonly object _gate = new();
    private readonly ILogger _log;

    /// <summary>Creates the reporter.</summary>
    /// <param name="writer">Where the lines go; <see cref="Console.Out"/> when null.</param>
    /// <param name="run">The run's name printed before each line of <see cref="Report(EpochReport)"/>; none when null.</param>
    /// <param name="logger">Receives the warning when the writer fails; <see cref="NullLogger"/> by default.</param>
    public ConsoleProgress(TextWriter? writer = null, string? run = null, ILogger? logger = null)
    {
        _writer = writer ?? Console.Out;
        _run = run;
        _log = logger ?? NullLogger.Instance;
    }

    /// <summary>The writer's first failure (an <see cref="IOException"/>, or the writer closed); null while every line was written.</summary>
    public Exception? WriteFailure { get; private set; }

    /// <summary>Prints the epoch's line (for the run named at construction).</summary>
    /// <param name="value">The epoch's report.</param>
    public void Report(EpochReport value) => Report(_run ?? "", value);

    /// <summary>Prints the epoch's line for the run named <paramref name="run"/> (ETA per run).</summary>
    /// <param name="run">The run's name (a recipe passes the method's).</param>
    /// <param name="value">The epoch's report.</param>
    public void Report(string run, EpochReport value)
    {
        ArgumentNullException.ThrowIfNull(run);
        ArgumentNullException.ThrowIfNull(value);
        lock (_gate)
        {
            var (seconds, epochs, last) = _timing.GetValueOrDefault(run);
            if (value.Epoch <= last) (seconds, epochs) = (0, 0);   // a new run under the same name: its own mean
            seconds += value.Seconds;
            epochs++;
            _timing[run] = (seconds, epochs, value.Epoch);
            if (WriteFailure is not null) return;
            try
            {
                _writer.WriteLine(Line(run, value, seconds / epochs));
                _writer.Flush();
            }
            catch (Exception ex) when (ex is IOException or ObjectDisposedException or UnauthorizedAccessException)
            {
                // progress is a report, not the work: a lost line must not cost the run
                WriteFailure = ex;
                Log.ReporterFailed(_log, nameof(ConsoleProgress), "its text writer", ex.Message);
            }
        }
    }

    /// <summary>The line of one epoch, given the run's mean epoch time so far.</summary>
    internal static string Line(string run, EpochReport value, double meanSeconds)
    {
        var c = CultureInfo.InvariantCulture;
        var worst = value.Validation.WorstGroupAccuracy is double w ? $"  worst-group {Percent(w)}" : "";
        var eta = TimeSpan.FromSeconds(Math.Max(0, value.TotalEpochs - value.Epoch) * meanSeconds);
        return string.Create(c,
            $"{(run.Length > 0 ? run + ": " : "")}epoch {value.Epoch}/{value.TotalEpochs}  loss {value.TrainLoss:F4}  val avg {Percent(value.Validation.AverageAccuracy)}{worst}" +
            $"{(value.IsBest ? " (best)" : "")}  {value.Seconds:F1} s  ETA {Format(eta)}");
    }

    private static string Percent(double v) => (v * 100).ToString("F1", CultureInfo.InvariantCulture) + "%";

    private static string Format(TimeSpan t) => t.TotalHours >= 1
        ? string.Create(CultureInfo.InvariantCulture, $"{(int)t.TotalHours}:{t.Minutes:00}:{t.Seconds:00}")
        : string.Create(CultureInfo.InvariantCulture, $"{(int)t.TotalMinutes}:{t.Seconds:00}");
}
