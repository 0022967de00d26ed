using GroupRobust.Evaluation;
using GroupRobust.Groups;
using TorchSharp;
using static TorchSharp.torch;

namespace GroupRobust.Tests.Evaluation;

public class ProbabilityMetricsTests
{
    /// <summary>Two-class probabilities [1 - s, s] for the scores s.</summary>
    private static float[] Binary(params float[] scores) => scores.SelectMany(s => new[] { 1 - s, s }).ToArray();

    [Fact]
    public void Binary_auroc_is_the_share_of_positive_negative_pairs_ranked_right_with_ties_as_half()
    {
        // the textbook example: positives 0.35 and 0.8, negatives 0.1 and 0.4 -> 3 of 4 pairs right
        Assert.Equal(0.75, ProbabilityMetrics.MacroAuroc(Binary(0.1f, 0.4f, 0.35f, 0.8f), [0, 0, 1, 1], 2)!.Value, 12);
        Assert.Equal(1.0, ProbabilityMetrics.MacroAuroc(Binary(0.1f, 0.2f, 0.7f, 0.9f), [0, 0, 1, 1], 2)!.Value, 12);
        Assert.Equal(0.0, ProbabilityMetrics.MacroAuroc(Binary(0.9f, 0.7f, 0.2f, 0.1f), [0, 0, 1, 1], 2)!.Value, 12);
        Assert.Equal(0.5, ProbabilityMetrics.MacroAuroc(Binary(0.5f, 0.5f, 0.5f, 0.5f), [0, 1, 0, 1], 2)!.Value, 12);
        // one tie between a positive and a negative: (3 + 0.5) / 4
        Assert.Equal(0.875, ProbabilityMetrics.MacroAuroc(Binary(0.1f, 0.4f, 0.4f, 0.8f), [0, 0, 1, 1], 2)!.Value, 12);
    }

    [Fact]
    public void Multiclass_auroc_averages_one_against_the_rest_over_classes_with_both_kinds_of_rows()
    {
        float[] p =
        [
            0.7f, 0.2f, 0.1f,
            0.2f, 0.5f, 0.3f,
            0.3f, 0.3f, 0.4f,
            0.1f, 0.6f, 0.3f,
        ];
        long[] y = [0, 1, 2, 2];
        // class 0: positive 0.7 above 0.2, 0.3, 0.1 -> 1; class 1: positive 0.5 above 0.2 and 0.3, below 0.6 -> 2/3;
        // class 2: positives 0.4, 0.3 against 0.1, 0.3 -> (1 + 1 + 1 + 0.5) / 4
        Assert.Equal((1 + 2.0 / 3 + 3.5 / 4) / 3, ProbabilityMetrics.MacroAuroc(p, y, 3)!.Value, 12);
        // a class with no row, and a split where every row is one class: left out, or no AUROC at all
        Assert.Equal(1.0, ProbabilityMetrics.MacroAuroc([0.9f, 0.1f, 0f, 0.2f, 0.8f, 0f], [0, 1], 3)!.Value, 12);
        Assert.Null(ProbabilityMetrics.MacroAuroc(Binary(0.2f, 0.7f), [1, 1], 2));
    }

    [Fact]
    public void Calibration_error_weighs_each_bins_gap_between_accuracy_and_confidence_by_its_share_of_rows()
    {
        // confidences 0.95, 0.95 (one right) in bin (0.9, 1]; 0.58 (right) and 0.55 (wrong) in (0.5, 0.6]
        float[] p = [0.95f, 0.05f, 0.05f, 0.95f, 0.58f, 0.42f, 0.45f, 0.55f];
        long[] y = [0, 0, 0, 0];
        double expected = (Math.Abs(1 - 0.95 - 0.95) + Math.Abs(1 - 0.58 - 0.55)) / 4;
        Assert.Equal(expected, ProbabilityMetrics.ExpectedCalibrationError(p, y, 2), 6);
        // perfectly calibrated confident predictions
        Assert.Equal(0, ProbabilityMetrics.ExpectedCalibrationError([1f, 0f, 0f, 1f], [0, 1], 2), 12);
    }

    [Fact]
    public void The_evaluator_computes_them_only_when_asked_and_then_refuses_class_ids()
    {
        using var scope = NewDisposeScope();
        var logits = torch.tensor(new float[] { 2, 0, 0, 1, 1, 0, -1, 2 }, [4, 2]);
        var labels = torch.tensor(new long[] { 0, 1, 0, 1 });
        using var plain = new WorstGroupEvaluator(GroupScheme.Binary(), new EvaluatorOptions { BootstrapSamples = 0 });
        plain.Add(logits, labels, null);
        var without = plain.Compute();
        Assert.Null(without.Auroc);
        Assert.Null(without.ExpectedCalibrationError);
        using var probabilistic = new WorstGroupEvaluator(GroupScheme.Binary(), new EvaluatorOptions { BootstrapSamples = 0, ProbabilityMetrics = true });
        probabilistic.Add(logits.narrow(0, 0, 2), labels.narrow(0, 0, 2), null);
        probabilistic.Add(logits.narrow(0, 2, 2), labels.narrow(0, 2, 2), null);
        var with = probabilistic.Compute();
        var p1 = logits.softmax(1).select(1, 1).data<float>().ToArray();   // 0.12, 0.73, 0.27, 0.95 -> every positive above every negative
        Assert.True(p1[1] > p1[2] && p1[3] > p1[0]);
        Assert.Equal(1.0, with.Auroc!.Value, 12);
        Assert.InRange(with.ExpectedCalibrationError!.Value, 0, 1);
        var ex = Assert.Throws<ArgumentException>(() => probabilistic.Add(torch.tensor(new long[] { 0, 1 }), labels.narrow(0, 0, 2), null));
        Assert.Equal("predictions", ex.ParamName);
        Assert.Contains("ProbabilityMetrics", ex.Message);
    }

    [Fact]
    public void Precision_and_f1_come_from_the_predicted_counts_and_a_never_predicted_class_has_precision_0()
    {
        using var scope = NewDisposeScope();
        using var evaluator = new WorstGroupEvaluator(new GroupScheme(3, 1), new EvaluatorOptions { BootstrapSamples = 0 });
        // predictions 0, 0, 0, 1, 0 against labels 0, 0, 1, 1, 2
        evaluator.Add(torch.tensor(new long[] { 0, 0, 0, 1, 0 }), torch.tensor(new long[] { 0, 0, 1, 1, 2 }), null);
        var r = evaluator.Compute();
        Assert.Equal([4L, 1L, 0L], r.Classes.Select(c => c.Predicted));
        Assert.Equal(0.5, r.Classes[0].Precision!.Value, 12);     // 2 of 4
        Assert.Equal(2.0 * 0.5 * 1.0 / 1.5, r.Classes[0].F1!.Value, 12);
        Assert.Equal(1.0, r.Classes[1].Precision!.Value, 12);
        Assert.Equal(0.0, r.Classes[2].Precision!.Value, 12);
        Assert.Equal(0.0, r.Classes[2].F1!.Value, 12);
        Assert.Equal((1 + 0.5 + 0) / 3, r.ClassBalancedAccuracy!.Value, 12);
        Assert.Equal((0.5 + 1 + 0) / 3, r.MacroPrecision!.Value, 12);
        Assert.Equal(0, r.WorstClassPrecision!.Value, 12);
        Assert.Equal(0, r.WorstClassF1!.Value, 12);
        Assert.Equal(0.5 + 1 + 0.5, r.ClassDifference!.Value, 12);
        Assert.Null(r.WorstAttributeAccuracy);
    }
}
