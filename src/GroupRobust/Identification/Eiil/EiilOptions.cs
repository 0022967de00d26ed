namespace GroupRobust.Identification;

/// <summary>
/// Options of <see cref="EiilIdentifier"/>; the defaults are the EIIL reference's environment-inference step
/// (ecreager/eiil, opt_env/utils/opt_utils.py): Adam on the N assignment logits, learning rate 1e-3, 10,000 full-batch steps.
/// </summary>
public sealed record EiilOptions
{
    /// <summary>Optimisation steps over the soft assignment (full batch), at least 1; default 10,000.</summary>
    public int Steps { get; init; } = 10_000;

    /// <summary>Adam's learning rate on the assignment logits, &gt; 0; default 1e-3.</summary>
    public double LearningRate { get; init; } = 1e-3;

    /// <summary>Batch size and device of the reference model's pass over the data.</summary>
    public IdentificationOptions Pass { get; init; } = new();

    /// <summary>Throws when an option is out of range.</summary>
    public void Validate()
    {
        if (Steps < 1) throw new ArgumentOutOfRangeException(nameof(Steps), Steps, "At least one step.");
        if (!(LearningRate > 0 && double.IsFinite(LearningRate))) throw new ArgumentOutOfRangeException(nameof(LearningRate), LearningRate, "Must be a finite number > 0.");
        ArgumentNullException.ThrowIfNull(Pass, nameof(Pass));
        Pass.Validate();
    }
}
