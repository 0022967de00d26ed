namespace GroupRobust.Evaluation;

/// <summary>Options of <see cref="WorstGroupEvaluator"/>.</summary>
public sealed record EvaluatorOptions
{
    /// <summary>Bootstrap resamples for the confidence intervals of average and worst-group accuracy (default 1000; 0 disables them).</summary>
    public int BootstrapSamples { get; init; } = 1000;

    /// <summary>Confidence level of the bootstrap intervals (default 0.95), in (0, 1).</summary>
    public double ConfidenceLevel { get; init; } = 0.95;

    /// <summary>Seed of the bootstrap resampling (default 0); the same seed gives the same intervals.</summary>
    public long BootstrapSeed { get; init; }

    /// <summary>
    /// Also compute the metrics of the predicted probabilities (softmax of the logits): macro one-vs-rest AUROC and the
    /// expected calibration error, as SubpopBench reports them (<see cref="EvaluationResult.Auroc"/>,
    /// <see cref="EvaluationResult.ExpectedCalibrationError"/>). Default false: they keep every row's C probabilities on
    /// the device until <c>Compute</c> (N x C float32) and need logits, not class ids. Selection by
    /// <see cref="SelectionRule.Auroc"/> turns them on in the ready loop and the recipes.
    /// </summary>
    public bool ProbabilityMetrics { get; init; }

    /// <summary>Throws when an option is out of range.</summary>
    public void Validate()
    {
        if (BootstrapSamples < 0) throw new ArgumentOutOfRangeException(nameof(BootstrapSamples), BootstrapSamples, "Must be >= 0.");
        if (!(ConfidenceLevel > 0 && ConfidenceLevel < 1)) throw new ArgumentOutOfRangeException(nameof(ConfidenceLevel), ConfidenceLevel, "Must be in (0, 1).");
    }
}
