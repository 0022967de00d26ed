using GroupRobust.Data;
using GroupRobust.Evaluation;
using GroupRobust.Identification;
using GroupRobust.Tests.TestSupport;
using Microsoft.Extensions.Logging;
using TorchSharp;
using static TorchSharp.torch;

namespace GroupRobust.Tests.Identification;

public class IdentifierTests
{
    private static DatasetSplits Data(int seed = 0) => SyntheticGaussianDataset.Create(new SyntheticGaussianOptions
    {
        // The spurious cue is 3x as far apart as the core one, so ERM leans on it (the regime JTT and JM1 target).
        TrainSize = 2000, MinorityFraction = 0.05, Sigma = 0.5, SpuriousScale = 3, Seed = seed,
    });

    [Fact]
    public void Oracle_is_exact()
    {
        using var splits = Data();
        var p = new OracleIdentifier().Identify(splits.Train);
        var q = p.Quality(splits.Train);
        Assert.Equal(100, p.MinorityCount);
        Assert.Equal(1.0, q.Precision);
        Assert.Equal(1.0, q.Recall);
        var groups = splits.Train.Groups.Span;
        for (int i = 0; i < p.Count; i++) Assert.Equal(groups[i] is 1 or 2, p.IsMinority(i));
        var explicitP = new OracleIdentifier([1]).Identify(splits.Train);
        Assert.Equal(50, explicitP.MinorityCount);
    }

    [Fact]
    public void Misclassification_error_set_of_a_briefly_trained_linear_model_recalls_the_minority()
    {
        using var splits = Data();
        using var model = (nn.Module<Tensor, Tensor>)TestTraining.Linear(2, 2);
        TestTraining.Erm(model, splits.Train, epochs: 1, lr: 0.05);
        var p = new MisclassificationIdentifier(model, new IdentificationOptions { Epoch = 1, BatchSize = 128 }).Identify(splits.Train);
        var q = p.Quality(splits.Train);
        // Measured with this setting (1 epoch, seeds 0-3): recall 0.91-0.97, precision 0.89-0.98. Longer training lowers
        // recall (0.73-0.76 after 5 epochs) as ERM starts fitting the minority, which is why phase I is short.
        Assert.True(q.Recall >= 0.8, $"recall {q.Recall}");
        Assert.True(q.Precision >= 0.75, $"precision {q.Precision}");
        Assert.Equal("misclassification", p.Metadata.Method);
        Assert.True(p.Metadata.IdentifiedByLibrary);
        Assert.Equal(1, p.Metadata.Epoch);
        Assert.True(model.training);
    }

    [Fact]
    public void Loss_magnitude_takes_the_top_fraction_globally_or_per_class()
    {
        using var splits = Data();
        using var model = TestTraining.Linear(2, 2);
        TestTraining.Erm(model, splits.Train, epochs: 1, lr: 0.05);
        var global = new LossMagnitudeIdentifier(model, 0.1).Identify(splits.Train);
        Assert.Equal(200, global.MinorityCount);
        var perClass = new LossMagnitudeIdentifier(model, 0.1, perClass: true).Identify(splits.Train);
        Assert.Equal(new long[] { 900, 100, 900, 100 }, perClass.GroupCounts());
        Assert.True(global.Quality(splits.Train).Recall >= 0.9, $"recall {global.Quality(splits.Train).Recall}");
    }

    [Fact]
    public void Loss_selection_breaks_ties_by_index()
    {
        var mask = LossMagnitudeIdentifier.SelectTop([1f, 3f, 3f, 0f, 2f], [0, 0, 1, 1, 1], 2, 0.4, perClass: false);
        Assert.Equal(new[] { false, true, true, false, false }, mask);
        var perClass = LossMagnitudeIdentifier.SelectTop([1f, 3f, 3f, 0f, 2f], [0, 0, 1, 1, 1], 2, 0.5, perClass: true);
        Assert.Equal(new[] { false, true, true, false, true }, perClass);
    }

    [Fact]
    public void Wrong_number_of_classes_is_a_clear_error()
    {
        using var splits = Data();
        using var model = nn.Linear(2, 3);
        var ex = Assert.Throws<ArgumentException>(() => new MisclassificationIdentifier(model).Identify(splits.Train));
        Assert.Contains("logits [B, 2]", ex.Message);
        Assert.Contains("[256, 3]", ex.Message);   // the first batch at the default batch size
    }

    [Fact]
    public void Oracle_without_groups_is_a_clear_error()
    {
        using var ds = Tiny.Dataset([0, 1], null);
        Assert.Throws<InvalidOperationException>(() => new OracleIdentifier().Identify(ds));
    }

    [Fact]
    public void Recorder_collects_train_mode_predictions_per_epoch()
    {
        using var splits = Data();
        using var model = TestTraining.Linear(2, 2);
        using var recorder = new ErrorSetRecorder(splits.Train);
        TestTraining.Erm(model, splits.Train, epochs: 3, lr: 0.05, onBatch: (e, b, logits) => recorder.Record(e, b, logits));
        Assert.Equal(new[] { 1, 2, 3 }, recorder.Epochs);
        var p2 = recorder.ErrorSetAt(3);
        Assert.Equal("recorder", p2.Metadata.Method);
        Assert.Equal("0", p2.Metadata.Parameters["unrecorded"]);
        var p0 = recorder.ErrorSetAt(1);
        // In-training predictions of epoch 1 include the untrained first batches: measured recall 0.74 (seed 0), below the
        // eval-pass identifier's 0.9+; this is the reference's quirk, kept because it is what JTT's code computes.
        Assert.True(p0.Quality(splits.Train).Recall >= 0.6, $"recall {p0.Quality(splits.Train).Recall}");
        Assert.InRange(p0.Overlap(p2), 0.0, 1.0);
        Assert.Throws<ArgumentException>(() => recorder.ErrorSetAt(7));
    }

    [Fact]
    public void Recorder_matches_a_manual_count_and_reports_unrecorded_samples()
    {
        using var ds = Tiny.Dataset([0, 1, 1, 0], [0, 1, 0, 1]);
        using var recorder = new ErrorSetRecorder(ds, new ListLogger());
        using var scope = NewDisposeScope();
        recorder.Record(1, [2, 0], Tiny.Longs(1, 0), Tiny.LogitsFor(2, 0, 0)); // 2 wrong, 0 right
        var p = recorder.ErrorSetAt(1);
        Assert.Equal(new long[] { 2 }, p.MinorityIndices());
        Assert.Equal("2", p.Metadata.Parameters["unrecorded"]);
        var ex = Assert.Throws<ArgumentException>(() => recorder.Record(1, [1], Tiny.Longs(1), torch.zeros(1, 3)));
        Assert.Contains("3 columns", ex.Message);
        Assert.Throws<ArgumentOutOfRangeException>(() => recorder.Record(1, [4], Tiny.Longs(1), torch.zeros(1, 2)));
        Assert.Contains("integer dtype", Assert.Throws<ArgumentException>(() => recorder.Record(1, [1], torch.ones(1), torch.zeros(1, 2))).Message);
    }
}

internal sealed class ListLogger : ILogger
{
    public List<string> Messages { get; } = [];
    public List<LogLevel> Levels { get; } = [];

    public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;

    public bool IsEnabled(LogLevel logLevel) => true;

    public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
    {
        Messages.Add(formatter(state, exception));
        Levels.Add(logLevel);
    }
}
