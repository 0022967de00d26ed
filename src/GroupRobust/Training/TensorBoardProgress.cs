using System.Globalization;
using GroupRobust.Internal;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using TorchSharp;

namespace GroupRobust.Training;

/// <summary>
/// Writes every epoch's numbers as TensorBoard scalars through TorchSharp's <c>torch.utils.tensorboard.SummaryWriter</c>
/// (event files <c>events.out.tfevents.*</c> that <c>tensorboard --logdir</c> reads), one folder per run, the epoch
/// (numbered from 1) as the step. Scalars: <c>loss/train</c>; <c>validation/average</c>, <c>validation/worst_group</c>,
/// <c>validation/group/&lt;name&gt;</c> for every non-empty group; <c>oracle_reference/average</c> and
/// <c>oracle_reference/worst_group</c> when the loop evaluates an oracle reference split (never used for selection);
/// <c>groupdro/q/&lt;group id&gt;</c> for GroupDRO losses (the ids of the groups the method trains on, true or inferred); <c>mixing/alpha_mean</c>, <c>mixing/mixed</c> and
/// <c>mixing/unmixed</c> for mixing methods; <c>time/epoch_seconds</c>. A run that starts again under a name already
/// reported (its epoch is not after the last one) is another run and gets its own folder (see <see cref="Report(string, EpochReport)"/>). Opt-in: pass it as <c>progress</c> to
/// <see cref="TrainingLoop"/>, or give <see cref="Report(string, EpochReport)"/> to a recipe. Each event is appended
/// and the file closed at once, so a crash loses nothing already reported. A folder or file that cannot be written (no
/// permission, a full disk) never stops training: the first failure is logged as a warning and kept in
/// <see cref="WriteFailure"/>, and nothing more is written. Thread-safe (runs reported from several
/// threads must have different names). Values are stored in float32
/// (TensorBoard's scalar type).
/// </summary>
public sealed class TensorBoardProgress : IProgress<EpochReport>
{
    private readonly string? _run;
    private readonly Dictionary<string, (TorchSharp.Modules.SummaryWriter Writer, int LastEpoch)> _writers = new(StringComparer.Ordinal);
    private readonly Dictionary<string, int> _runsNamed = new(StringComparer.Ordinal);
    private readonly HashSet<string> _folders = new(StringComparer.Ordinal);   // folders taken by this writer's runs
    private readonly object _gate = new();
    private readonly ILogger _log;

    /// <summary>Creates the writer (the folder is created when the first epoch is reported).</summary>
    /// <param name="logDirectory">The log directory (<c>tensorboard --logdir</c> points here).</param>
    /// <param name="run">The run of <see cref="Report(EpochReport)"/>: a subfolder; null writes into <paramref name="logDirectory"/> itself.</param>
    /// <param name="logger">Receives the warning when the event files cannot be written; <see cref="NullLogger"/> by default.</param>
    /// <exception cref="ArgumentException"><paramref name="logDirectory"/> is empty.</exception>
    public TensorBoardProgress(string logDirectory, string? run = null, ILogger? logger = null)
    {
        ArgumentException.ThrowIfNullOrEmpty(logDirectory);
        LogDirectory = logDirectory;
        _run = run;
        _log = logger ?? NullLogger.Instance;
    }

    /// <summary>The first failure to write an event file (an <see cref="IOException"/> or <see cref="UnauthorizedAccessException"/>); null while every event was written.</summary>
    public Exception? WriteFailure { get; private set; }

    /// <summary>The log directory.</summary>
    public string LogDirectory { get; }

    /// <summary>
    /// The folder a run's event file goes to: its name with every run of characters other than ASCII letters, digits, '-'
    /// and '.' turned into one '_' ("GroupDRO (eiil groups)" becomes "GroupDRO_eiil_groups").
    /// </summary>
    /// <param name="run">The run's name; empty for the log directory itself.</param>
    public string RunDirectory(string run)
    {
        ArgumentNullException.ThrowIfNull(run);
        if (run.Length == 0) return LogDirectory;
        var safe = System.Text.RegularExpressions.Regex.Replace(run, "[^A-Za-z0-9.-]+", "_").Trim('_', '.');
        return Path.Combine(LogDirectory, safe.Length == 0 ? "_" : safe);
    }

    /// <summary>Writes the epoch's scalars (for the run named at construction).</summary>
    /// <param name="value">The epoch's report.</param>
    public void Report(EpochReport value) => Report(_run ?? "", value);

    /// <summary>
    /// Writes the epoch's scalars into the folder of run <paramref name="run"/> (see <see cref="RunDirectory"/>); when the
    /// epoch is not after the last one reported under that name, a new run has begun, and it goes to "<c>run_2</c>", "<c>run_3</c>", ...
    /// </summary>
    /// <param name="run">The run's name (a recipe passes the method's).</param>
    /// <param name="value">The epoch's report.</param>
    public void Report(string run, EpochReport value)
    {
        ArgumentNullException.ThrowIfNull(run);
        ArgumentNullException.ThrowIfNull(value);
        lock (_gate)
        {
            if (WriteFailure is not null) return;
            try
            {
                Write(run, value);
            }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
            {
                // the curves are a report, not the work: a folder that cannot be written must not cost the run
                WriteFailure = ex;
                Log.ReporterFailed(_log, nameof(TensorBoardProgress), LogDirectory, ex.Message);
            }
        }
    }

    private void Write(string run, EpochReport value)
    {
        // a run that starts again under a name already used (an epoch not after the last one reported) is another run:
        // it gets its own folder, "name_2", so that two runs' curves never interleave
        if (!_writers.TryGetValue(run, out var known) || value.Epoch <= known.LastEpoch)
        {
            int n = _runsNamed[run] = _runsNamed.GetValueOrDefault(run) + 1;
            var folder = RunDirectory(n == 1 ? run : string.Create(CultureInfo.InvariantCulture, $"{run} {n}"));
            // two names that clean up alike ("X (a)", "X a") never share a folder
            for (int k = 2; !_folders.Add(folder); k++) folder = string.Create(CultureInfo.InvariantCulture, $"{folder}_{k}");
            known = (torch.utils.tensorboard.SummaryWriter(folder), 0);
        }
        _writers[run] = (known.Writer, value.Epoch);
        var writer = known.Writer;
        void Scalar(string tag, double v)
        {
            if (double.IsFinite(v)) writer.add_scalar(tag, (float)v, value.Epoch);
        }
        Scalar("loss/train", value.TrainLoss);
        Write(Scalar, "validation", value.Validation, groups: true);
        if (value.OracleReference is { } oracle) Write(Scalar, "oracle_reference", oracle, groups: false);
        if (value.Method.GroupWeights is { } q)
            for (int g = 0; g < q.Count; g++)
                Scalar($"groupdro/q/{g.ToString(CultureInfo.InvariantCulture)}", q[g]);   // the method's own groups (true or inferred), by id
        if (value.Method.Mixing is { } mixing)
        {
            Scalar("mixing/alpha_mean", mixing.AlphaMean);
            Scalar("mixing/mixed", mixing.Mixed);
            Scalar("mixing/unmixed", mixing.Unmixed);
        }
        Scalar("time/epoch_seconds", value.Seconds);
    }

    private static void Write(Action<string, double> scalar, string prefix, Evaluation.EvaluationResult result, bool groups)
    {
        scalar($"{prefix}/average", result.AverageAccuracy);
        if (result.WorstGroupAccuracy is double w) scalar($"{prefix}/worst_group", w);
        if (!groups) return;
        foreach (var g in result.Groups)
            if (g.Accuracy is double a) scalar($"{prefix}/group/{Tag(g.Name)}", a);
    }

    /// <summary>A group name as a tag segment: '/' would open a new level in TensorBoard's tree.</summary>
    private static string Tag(string name) => name.Replace('/', '_');
}
