namespace GroupRobust.Identification;

/// <summary>Options of <see cref="SsaIdentifier"/> (Nam et al., 2022, "Spread Spurious Attribute"; SpuCo's <c>SSA</c>).</summary>
public sealed record SsaOptions
{
    /// <summary>
    /// Folds of the training split, at least 2 (default 3, SpuCo's <c>num_splits</c>): each fold's attributes are
    /// predicted by a network trained on the other folds, so no sample is labelled by a network that trained on it.
    /// </summary>
    public int Splits { get; init; } = 3;

    /// <summary>Optimizer steps per fold, at least 1 (default 1000, SpuCo's <c>num_iters</c> in its quickstarts).</summary>
    public int Steps { get; init; } = 1000;

    /// <summary>
    /// The share of the validation split that chooses each fold's network (by attribute accuracy), in (0, 1) (default
    /// 0.5, SpuCo's <c>labeled_valset_size</c>); the rest trains it with its attribute labels.
    /// </summary>
    public double SelectionFraction { get; init; } = 0.5;

    /// <summary>
    /// The confidence (softmax probability) a training sample's prediction of the rarest attribute needs to become a
    /// pseudo-label, in (0, 1] (default 0.95, SpuCo's <c>tau_g_min</c>).
    /// </summary>
    public double Threshold { get; init; } = 0.95;

    /// <summary>Batch size of the labelled and of the unlabelled batch of a step, at least 2 (default 64, SpuCo's).</summary>
    public int BatchSize { get; init; } = 64;

    /// <summary>
    /// Steps between two evaluations of the network on the selection share, at least 1 (default 20; the reference
    /// evaluates after every step, which costs a pass over half the validation split per step). The last step is always
    /// evaluated.
    /// </summary>
    public int EvaluateEvery { get; init; } = 20;

    /// <summary>Batch size of the labelling and evaluation passes (they run on the network's device; <see cref="IdentificationOptions.Device"/> is not read).</summary>
    public IdentificationOptions Pass { get; init; } = new();

    /// <summary>Throws when an option is out of range (the parameter name is the option's).</summary>
    public void Validate()
    {
        if (Splits < 2) throw new ArgumentOutOfRangeException(nameof(Splits), Splits, "At least 2 folds (each fold is labelled by a network trained on the others).");
        if (Steps < 1) throw new ArgumentOutOfRangeException(nameof(Steps), Steps, "At least 1 step.");
        if (!(SelectionFraction > 0 && SelectionFraction < 1)) throw new ArgumentOutOfRangeException(nameof(SelectionFraction), SelectionFraction, "Must be in (0, 1).");
        if (!(Threshold > 0 && Threshold <= 1)) throw new ArgumentOutOfRangeException(nameof(Threshold), Threshold, "Must be in (0, 1].");
        if (BatchSize < 2) throw new ArgumentOutOfRangeException(nameof(BatchSize), BatchSize, "At least 2.");
        if (EvaluateEvery < 1) throw new ArgumentOutOfRangeException(nameof(EvaluateEvery), EvaluateEvery, "At least 1.");
        ArgumentNullException.ThrowIfNull(Pass, nameof(Pass));
        Pass.Validate();
    }
}
