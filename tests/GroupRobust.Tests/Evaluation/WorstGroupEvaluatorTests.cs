using System.Text.Json;
using GroupRobust.Evaluation;
using GroupRobust.Groups;
using GroupRobust.Tests.TestSupport;
using TorchSharp;
using static TorchSharp.torch;

namespace GroupRobust.Tests.Evaluation;

public class WorstGroupEvaluatorTests
{
    private static readonly GroupScheme Birds = GroupScheme.Binary(["landbird", "waterbird"], ["land", "water"]);

    private static EvaluationResult Run(long[] labels, long[] groups, long[] predicted, EvaluatorOptions? options = null, long[]? train = null)
    {
        using var scope = NewDisposeScope();
        using var ev = new WorstGroupEvaluator(Birds, options ?? new EvaluatorOptions { BootstrapSamples = 0 });
        ev.Add(Tiny.LogitsFor(2, predicted), Tiny.Longs(labels), Tiny.Longs(groups));
        return ev.Compute(train);
    }

    [Fact]
    public void Hand_computed_case_with_a_single_sample_group()
    {
        var r = Run([0, 0, 0, 1, 1], [0, 0, 1, 2, 3], [0, 1, 0, 1, 0]);
        Assert.Equal(0.5, r.Groups[0].Accuracy);
        Assert.Equal(1.0, r.Groups[1].Accuracy);   // a single sample
        Assert.Equal(1.0, r.Groups[2].Accuracy);
        Assert.Equal(0.0, r.Groups[3].Accuracy);
        Assert.Equal(0.6, r.AverageAccuracy, 12);
        Assert.Equal(0.0, r.WorstGroupAccuracy);
        Assert.Equal(3, r.WorstGroup);
        Assert.Equal(0.625, r.BalancedAccuracy!.Value, 12);
        Assert.Equal(new long[] { 3, 2 }, r.Classes.Select(c => c.Count));
        Assert.Equal(1, r.WorstClass);   // class 0: 2/3, class 1: 1/2
        Assert.Equal("(waterbird, water)", r.Groups[3].Name);
    }

    [Fact]
    public void Empty_groups_are_marked_empty_and_ignored_by_worst_group()
    {
        var r = Run([0, 0, 1, 1], [0, 0, 3, 3], [0, 1, 1, 1]);
        Assert.True(r.Groups[1].IsEmpty);
        Assert.Null(r.Groups[1].Accuracy);
        Assert.True(r.Groups[2].IsEmpty);
        Assert.Equal(0.5, r.WorstGroupAccuracy);
        Assert.Equal(0, r.WorstGroup);
        Assert.Equal(0.75, r.BalancedAccuracy!.Value, 12);
        Assert.Contains("| (landbird, water) | 0 | 0 | empty |", r.ToMarkdown());
    }

    [Fact]
    public void Ties_pick_the_lowest_group_id()
    {
        var r = Run([0, 0, 1, 1], [0, 1, 2, 3], [1, 1, 0, 1]);
        Assert.Equal(0.0, r.WorstGroupAccuracy);
        Assert.Equal(0, r.WorstGroup);
    }

    [Fact]
    public void Accumulates_over_batches_and_accepts_predicted_labels()
    {
        using var scope = NewDisposeScope();
        using var ev = new WorstGroupEvaluator(Birds, new EvaluatorOptions { BootstrapSamples = 0 });
        ev.Add(Tiny.Longs(0, 1), Tiny.Longs(0, 0), Tiny.Longs(0, 1));
        ev.Add(Tiny.Longs(1, 1, 0), Tiny.Longs(1, 1, 1), Tiny.Longs(2, 3, 3));
        var r = ev.Compute();
        Assert.Equal(5, r.Count);
        Assert.Equal(3, r.Correct);
        Assert.Equal(new double?[] { 1.0, 0.0, 1.0, 0.5 }, r.Groups.Select(g => g.Accuracy));
        ev.Reset();
        Assert.Equal(0, ev.Count);
        Assert.Throws<InvalidOperationException>(() => ev.Compute());
    }

    [Fact]
    public void Adjusted_average_weights_by_training_group_counts()
    {
        var r = Run([0, 0, 1, 1], [0, 0, 2, 3], [0, 1, 1, 1], train: [10, 0, 5, 5]);
        // acc = 0.5, -, 1, 1 -> 0.5 * 0.5 + 1 * 0.25 + 1 * 0.25
        Assert.Equal(0.75, r.AdjustedAverageAccuracy!.Value, 12);
        var undefined = Run([0, 0, 1, 1], [0, 0, 2, 3], [0, 1, 1, 1], train: [10, 1, 5, 5]);
        Assert.Null(undefined.AdjustedAverageAccuracy);
    }

    [Fact]
    public void Without_group_labels_only_average_and_class_metrics_exist()
    {
        using var scope = NewDisposeScope();
        using var ev = new WorstGroupEvaluator(Birds, new EvaluatorOptions { BootstrapSamples = 100 });
        ev.Add(Tiny.LogitsFor(2, 0, 1, 1), Tiny.Longs(0, 1, 0), null);
        var r = ev.Compute();
        Assert.Empty(r.Groups);
        Assert.Null(r.WorstGroupAccuracy);
        Assert.Null(r.WorstGroupInterval);
        Assert.NotNull(r.AverageInterval);
        Assert.Equal(2.0 / 3, r.AverageAccuracy, 12);
        var ex = Assert.Throws<ArgumentException>(() => ev.Add(Tiny.LogitsFor(2, 0), Tiny.Longs(0), Tiny.Longs(0)));
        Assert.Equal("groups", ex.ParamName);
    }

    [Fact]
    public void Bootstrap_intervals_are_seeded_and_bracket_the_estimate()
    {
        var rng = new Random(0);
        long[] labels = Enumerable.Range(0, 400).Select(i => (long)(i % 2)).ToArray();
        long[] groups = labels.Select((y, i) => y * 2 + (i / 2 % 2)).ToArray();
        long[] pred = labels.Select(y => rng.NextDouble() < 0.8 ? y : 1 - y).ToArray();
        var opts = new EvaluatorOptions { BootstrapSamples = 500, BootstrapSeed = 11 };
        var a = Run(labels, groups, pred, opts);
        var b = Run(labels, groups, pred, opts);
        Assert.Equal(a.AverageInterval, b.AverageInterval);
        Assert.InRange(a.AverageAccuracy, a.AverageInterval!.Lower, a.AverageInterval.Upper);
        Assert.True(a.AverageInterval.Upper - a.AverageInterval.Lower is > 0.02 and < 0.2);
        Assert.True(a.WorstGroupInterval!.Lower <= a.WorstGroupAccuracy);
        var c = Run(labels, groups, pred, opts with { BootstrapSeed = 12 });
        Assert.NotEqual(a.AverageInterval, c.AverageInterval);
    }

    [Fact]
    public void Renders_as_json_and_markdown()
    {
        var r = Run([0, 1], [0, 3], [0, 0]);
        using var doc = JsonDocument.Parse(r.ToJson());
        Assert.Equal(0.5, doc.RootElement.GetProperty("averageAccuracy").GetDouble());
        Assert.Equal(0.0, doc.RootElement.GetProperty("worstGroupAccuracy").GetDouble());
        Assert.Equal(JsonValueKind.Null, doc.RootElement.GetProperty("groups")[1].GetProperty("accuracy").ValueKind);
        var md = r.ToMarkdown("validation");
        Assert.Contains("### validation", md);
        Assert.Contains("worst-group accuracy: 0.00% ((waterbird, water))", md);
    }

    [Fact]
    public void An_empty_batch_is_validated_and_otherwise_a_no_op()
    {
        using var scope = NewDisposeScope();
        using var ev = new WorstGroupEvaluator(Birds);
        ev.Add(torch.zeros(2, 2), Tiny.Longs(0, 1), Tiny.Longs(0, 3));
        var before = ev.Compute();
        ev.Add(torch.zeros(0, 2), torch.zeros(0, ScalarType.Int64), torch.zeros(0, ScalarType.Int64));
        Assert.Equal(before.ToMarkdown(), ev.Compute().ToMarkdown());
        // still validated: logits of another width are rejected even when empty
        Assert.Throws<ArgumentException>(() => ev.Add(torch.zeros(0, 3), torch.zeros(0, ScalarType.Int64), torch.zeros(0, ScalarType.Int64)));
    }

    [Fact]
    public void Bad_input_names_the_argument_and_the_values()
    {
        using var scope = NewDisposeScope();
        using var ev = new WorstGroupEvaluator(Birds);
        var e1 = Assert.Throws<ArgumentException>(() => ev.Add(torch.zeros(3, 2), Tiny.Longs(0, 1), Tiny.Longs(0, 2)));
        Assert.Contains("'predictions' has 3 rows but 'labels' has 2", e1.Message);
        var e2 = Assert.Throws<ArgumentException>(() => ev.Add(torch.zeros(2, 3), Tiny.Longs(0, 1), Tiny.Longs(0, 2)));
        Assert.Contains("3 logit columns", e2.Message);
        var e3 = Assert.Throws<ArgumentOutOfRangeException>(() => ev.Add(torch.zeros(2, 2), Tiny.Longs(0, 2), Tiny.Longs(0, 2)));
        Assert.Equal("labels", e3.ParamName);
        Assert.Contains("label 2", e3.Message);
        var e4 = Assert.Throws<ArgumentOutOfRangeException>(() => ev.Add(torch.zeros(2, 2), Tiny.Longs(0, 1), Tiny.Longs(-1, 2)));
        Assert.Equal("groups", e4.ParamName);
        Assert.Contains("group id -1", e4.Message);
        var e5 = Assert.Throws<ArgumentOutOfRangeException>(() => ev.Add(torch.zeros(2, 2), Tiny.Longs(0, 1), Tiny.Longs(0, 4)));
        Assert.Contains("[0, 3]", e5.Message);
        var e6 = Assert.Throws<ArgumentException>(() => ev.Add(torch.zeros(2, 2), torch.zeros(2), Tiny.Longs(0, 2)));
        Assert.Contains("integer dtype", e6.Message);
        var e7 = Assert.Throws<ArgumentException>(() => ev.Add(torch.zeros(2, 2), Tiny.Longs(0, 1), Tiny.Longs(0, 1)));
        Assert.Contains("inconsistent with 'labels' at row 1", e7.Message);
        var e8 = Assert.Throws<ArgumentException>(() => ev.Add(torch.tensor(new[] { float.NaN, 0f, 0f, 1f }, [2, 2]), Tiny.Longs(0, 1), Tiny.Longs(0, 2)));
        Assert.Contains("non-finite", e8.Message);
        var e9 = Assert.Throws<ArgumentException>(() => ev.Add(torch.zeros(2, 2, 2), Tiny.Longs(0, 1), Tiny.Longs(0, 2)));
        Assert.Contains("[2, 2, 2]", e9.Message);
        // none of the failed calls changed the state
        Assert.Equal(0, ev.Count);
    }

    [Fact]
    public void Mismatched_devices_are_reported()
    {
        using var scope = NewDisposeScope();
        using var ev = new WorstGroupEvaluator(Birds);
        var meta = torch.zeros(2, 2, device: torch.META);
        var ex = Assert.Throws<ArgumentException>(() => ev.Add(meta, Tiny.Longs(0, 1), Tiny.Longs(0, 2)));
        Assert.Contains("meta", ex.Message);
        Assert.Contains("cpu", ex.Message, StringComparison.OrdinalIgnoreCase);
    }

    [Fact]
    public void Options_are_validated()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => new WorstGroupEvaluator(Birds, new EvaluatorOptions { ConfidenceLevel = 1 }));
        Assert.Throws<ArgumentOutOfRangeException>(() => new WorstGroupEvaluator(Birds, new EvaluatorOptions { BootstrapSamples = -1 }));
    }
}
