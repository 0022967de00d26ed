using GroupRobust.Evaluation;

namespace GroupRobust.Methods;

/// <summary>Options of <see cref="Crt"/>: classifier re-training on the training split's features (SubpopBench's CRT family).</summary>
public sealed record CrtOptions
{
    /// <summary>The balancing of the training data (default <see cref="CrtBalancing.GroupBalancedSampling"/>, SubpopBench's CRT).</summary>
    public CrtBalancing Balancing { get; init; } = CrtBalancing.GroupBalancedSampling;

    /// <summary>
    /// Whether the last layer starts from a new initialisation (default true): PyTorch's <c>nn.Linear</c> default, weight
    /// and bias uniform in +-1 / sqrt(features), drawn from the seed source's stream "head". This is SubpopBench's stage 2,
    /// which loads the ERM model's featurizer and not its classifier (<c>train.py</c> skips the keys of
    /// <c>classifier</c>), and Kang et al.'s cRT, which re-initialises the classifier. False starts from the head given
    /// to <see cref="Crt"/>'s run: the ERM head trained further, a variant that neither reference runs.
    /// </summary>
    public bool ReinitializeHead { get; init; } = true;

    /// <summary>Epochs over the training features, at least 1 (default 50: about SubpopBench's 5,000 steps on 10,000 samples at batch 108; on cached features an epoch costs a few matrix products).</summary>
    public int Epochs { get; init; } = 50;

    /// <summary>Mini-batch size, at least 1 (default 108, SubpopBench's image batch size).</summary>
    public int BatchSize { get; init; } = 108;

    /// <summary>SGD learning rate, a finite number above 0 (default 1e-3, SubpopBench's image default; momentum 0.9 as its SGD).</summary>
    public double LearningRate { get; init; } = 1e-3;

    /// <summary>SGD weight decay, a finite number of at least 0 (default 1e-4, SubpopBench's image default).</summary>
    public double WeightDecay { get; init; } = 1e-4;

    /// <summary>How the epoch is chosen on the validation features (default worst-group accuracy: validation groups for selection).</summary>
    public SelectionRule Selection { get; init; } = SelectionRule.WorstGroupAccuracy;

    /// <summary>Throws when an option is out of range (the parameter name is the option's).</summary>
    public void Validate()
    {
        if (!Enum.IsDefined(Balancing)) throw new ArgumentOutOfRangeException(nameof(Balancing), Balancing, $"Unknown balancing; expected one of {string.Join(", ", Enum.GetNames<CrtBalancing>())}.");
        if (Epochs < 1) throw new ArgumentOutOfRangeException(nameof(Epochs), Epochs, "At least one epoch.");
        if (BatchSize < 1) throw new ArgumentOutOfRangeException(nameof(BatchSize), BatchSize, "At least one sample per batch.");
        if (!(LearningRate > 0 && double.IsFinite(LearningRate))) throw new ArgumentOutOfRangeException(nameof(LearningRate), LearningRate, "Must be a finite number > 0.");
        if (!(WeightDecay >= 0 && double.IsFinite(WeightDecay))) throw new ArgumentOutOfRangeException(nameof(WeightDecay), WeightDecay, "Must be a finite number >= 0.");
        ArgumentNullException.ThrowIfNull(Selection, nameof(Selection));
        if (!Selection.ScoresEachEpochAlone) throw new ArgumentException($"Selection by {Selection.Name} compares epochs with each other; CRT keeps the best head as epochs arrive and needs a rule that scores each epoch alone.", nameof(Selection));
    }
}
