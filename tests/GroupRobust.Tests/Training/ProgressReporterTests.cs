using GroupRobust.Evaluation;
using GroupRobust.Identification;
using GroupRobust.Methods;
using GroupRobust.Randomness;
using GroupRobust.Tests.Methods;
using GroupRobust.Tests.TestSupport;
using GroupRobust.Training;
using TorchSharp;

namespace GroupRobust.Tests.Training;

/// <summary>The console progress line (with its ETA) and the TensorBoard event files, read back record by record.</summary>
public class ProgressReporterTests
{
    private static TrainingHistory Train(string kind, IProgress<EpochReport> progress, int epochs = 3)
    {
        using var data = MethodFactory.Data(120);
        using var model = MethodFactory.ModelFor(kind, 0);
        using var method = MethodFactory.Make(kind, data, new SeedSource(1));
        using var sgd = torch.optim.SGD(model.parameters(), 0.1);
        return TrainingLoop.Run(method, model, sgd, data.Train, data.Validation, new TrainingLoopOptions
        {
            Epochs = epochs, BatchSize = 40, Evaluator = new EvaluatorOptions { BootstrapSamples = 0 },
        }, progress);
    }

    [Fact]
    public void A_reporter_that_cannot_write_warns_once_and_training_goes_on()
    {
        using var dir = new TempDirectory();
        File.WriteAllText(dir.File("taken"), "a file where the log directory should be");
        var closed = new StringWriter();
        closed.Dispose();
        var (consoleLog, boardLog) = (new Identification.ListLogger(), new Identification.ListLogger());
        var console = new ConsoleProgress(closed, "ERM", consoleLog);
        var board = new TensorBoardProgress(dir.File("taken"), "ERM", boardLog);
        var history = Train("erm", new CombinedProgress(console, board));
        Assert.Equal(3, history.Epochs.Count);   // every epoch trained and evaluated
        Assert.IsType<ObjectDisposedException>(console.WriteFailure);
        Assert.IsAssignableFrom<IOException>(board.WriteFailure);
        foreach (var log in new[] { consoleLog, boardLog })
        {
            Assert.Equal(Microsoft.Extensions.Logging.LogLevel.Warning, Assert.Single(log.Levels));   // once, not every epoch
            Assert.Contains("Training goes on", log.Messages[0]);
        }
        Assert.Contains(dir.File("taken"), boardLog.Messages[0]);

        // a writer that works keeps its failure null
        var fine = new ConsoleProgress(new StringWriter());
        Train("erm", fine, epochs: 1);
        Assert.Null(fine.WriteFailure);
    }

    [Fact]
    public void The_console_reporter_prints_one_line_per_epoch_with_the_validation_numbers_and_an_ETA()
    {
        var text = new StringWriter();
        var history = Train("erm", new ConsoleProgress(text, "ERM"));
        var lines = text.ToString().Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal(3, lines.Length);
        for (int e = 1; e <= 3; e++)
        {
            Assert.StartsWith($"ERM: epoch {e}/3  loss ", lines[e - 1]);
            Assert.Contains($"worst-group {(history.Epochs[e - 1].Validation.WorstGroupAccuracy!.Value * 100).ToString("F1", System.Globalization.CultureInfo.InvariantCulture)}%", lines[e - 1]);
            Assert.Contains(" ETA ", lines[e - 1]);
        }
        Assert.EndsWith("ETA 0:00", lines[2].TrimEnd('\r'));   // nothing left after the last epoch
        // the ETA is the run's mean epoch time times the epochs left
        var report = history.Epochs[2] is var r ? new EpochReport
        {
            Epoch = 3, TotalEpochs = 10, TrainLoss = 0.5, Method = new MethodEpochSummary { Epoch = 3, Samples = 10 }, Validation = r.Validation, IsBest = true, Seconds = 2,
        } : null!;
        Assert.EndsWith("(best)  2.0 s  ETA 0:17", ConsoleProgress.Line("x", report, 2.5));
        Assert.EndsWith("ETA 1:10:00", ConsoleProgress.Line("x", report with { TotalEpochs = 1403 }, 3));
    }

    /// <summary>The events of a TensorBoard file: TFRecords (length, its CRC, the Event, its CRC), as TensorBoard reads them.</summary>
    private static List<Tensorboard.Event> ReadEvents(string path)
    {
        var events = new List<Tensorboard.Event>();
        using var reader = new BinaryReader(File.OpenRead(path));
        while (reader.BaseStream.Position < reader.BaseStream.Length)
        {
            long length = reader.ReadInt64();
            reader.ReadUInt32();
            events.Add(Tensorboard.Event.Parser.ParseFrom(reader.ReadBytes(checked((int)length))));
            reader.ReadUInt32();
        }
        return events;
    }

    [Fact]
    public void TensorBoard_event_files_hold_every_epochs_scalars_with_the_epoch_as_step()
    {
        using var dir = new TempDirectory();
        var board = new TensorBoardProgress(dir.File("runs"), "GroupDRO / seed 0");
        var history = Train("groupdro", board);
        string runDir = board.RunDirectory("GroupDRO / seed 0");
        Assert.Equal(Path.Combine(dir.File("runs"), "GroupDRO_seed_0"), runDir);
        var file = Assert.Single(Directory.GetFiles(runDir, "events.out.tfevents.*"));
        var events = ReadEvents(file);
        Assert.Equal("brain.Event:2", events[0].FileVersion);
        double now = DateTimeOffset.UtcNow.ToUnixTimeSeconds();
        Assert.InRange(events[1].WallTime, now - 3600, now + 60);   // seconds since 1970, as TensorBoard reads them
        var scalars = events.Skip(1).SelectMany(e => e.Summary.Value.Select(v => (e.Step, v.Tag, Value: (double)v.SimpleValue))).ToList();
        double At(string tag, int step) => scalars.Single(s => s.Tag == tag && s.Step == step).Value;
        for (int e = 1; e <= 3; e++)
        {
            var report = history.Epochs[e - 1];
            Assert.Equal(report.Validation.AverageAccuracy, At("validation/average", e), 1e-6);
            Assert.Equal(report.Validation.WorstGroupAccuracy!.Value, At("validation/worst_group", e), 1e-6);
            foreach (var g in report.Validation.Groups.Where(g => !g.IsEmpty))
                Assert.Equal(g.Accuracy!.Value, At($"validation/group/{g.Name.Replace('/', '_')}", e), 1e-6);
            Assert.True(At("time/epoch_seconds", e) >= 0);
            Assert.True(At("loss/train", e) > 0);
            // GroupDRO's q: one scalar per group, a distribution
            var q = scalars.Where(s => s.Step == e && s.Tag.StartsWith("groupdro/q/", StringComparison.Ordinal)).ToList();
            Assert.Equal(4, q.Count);
            Assert.Equal(1.0, q.Sum(s => s.Value), 1e-5);
        }
        Assert.DoesNotContain(scalars, s => s.Tag.StartsWith("mixing/", StringComparison.Ordinal));

        // a mixing method's statistics, through a combined reporter next to the console
        var text = new StringWriter();
        var mixing = new TensorBoardProgress(dir.File("runs"), "JM1");
        Train("jm1", new CombinedProgress(new ConsoleProgress(text), mixing), epochs: 1);
        var jm1 = ReadEvents(Assert.Single(Directory.GetFiles(mixing.RunDirectory("JM1"), "events.out.tfevents.*")));
        var tags = jm1.Skip(1).SelectMany(e => e.Summary.Value.Select(v => v.Tag)).ToHashSet();
        Assert.Contains("mixing/alpha_mean", tags);
        Assert.Contains("mixing/mixed", tags);
        Assert.Single(text.ToString().Split('\n', StringSplitOptions.RemoveEmptyEntries));

        // another run under a name already used starts at epoch 1 again: its own folder, so curves never interleave
        Train("jm1", mixing, epochs: 1);
        Assert.Single(Directory.GetFiles(mixing.RunDirectory("JM1"), "events.out.tfevents.*"));
        var second = ReadEvents(Assert.Single(Directory.GetFiles(mixing.RunDirectory("JM1 2"), "events.out.tfevents.*")));
        Assert.Contains(second.Skip(1), e => e.Step == 1);
    }
}
