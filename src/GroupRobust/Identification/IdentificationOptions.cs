namespace GroupRobust.Identification;

/// <summary>Options of the model-based identifiers (<see cref="MisclassificationIdentifier"/>, <see cref="LossMagnitudeIdentifier"/>).</summary>
public sealed record IdentificationOptions
{
    /// <summary>Batch size of the evaluation pass (default 512); at least 1.</summary>
    public int BatchSize { get; init; } = 512;

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
