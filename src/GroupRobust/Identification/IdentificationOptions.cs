namespace GroupRobust.Identification;

/// <summary>Options of the model-based identifiers (<see cref="MisclassificationIdentifier"/>, <see cref="LossMagnitudeIdentifier"/>).</summary>
public sealed record IdentificationOptions
{
    /// <summary>
    /// Batch size of the evaluation pass (default 256, as the evaluator's); at least 1. Larger is not faster on a CPU: the
    /// small CNN's pass over 10,000 images takes 0.5 s at 64 to 256 and 2.8 s at 512, its activations outgrowing the
    /// caches (docs/performance.md, "Identification and evaluation against the raw pass").
    /// </summary>
    public int BatchSize { get; init; } = 256;

    /// <summary>Device to run the model on; null keeps the dataset's device.</summary>
    public TorchSharp.torch.Device? Device { get; init; }

    /// <summary>Phase-I epoch T the model was taken at, recorded in the partition's metadata; optional.</summary>
    public int? Epoch { get; init; }

    /// <summary>Throws when an option is out of range.</summary>
    public void Validate()
    {
        if (BatchSize < 1) throw new ArgumentOutOfRangeException(nameof(BatchSize), BatchSize, "Must be >= 1.");
    }
}
