namespace GroupRobust.Identification;

/// <summary>Where a <see cref="Partition"/> came from: the method, the phase-I epoch, the dataset it indexes, and the creation parameters.</summary>
public sealed record PartitionMetadata
{
    /// <summary>Identification method, e.g. "misclassification", "recorder", "loss-magnitude", "oracle".</summary>
    public required string Method { get; init; }

    /// <summary>Phase-I epoch the error set was taken at (T), when applicable.</summary>
    public int? Epoch { get; init; }

    /// <summary>Number of samples of the dataset the partition indexes.</summary>
    public required int DatasetSize { get; init; }

    /// <summary>Number of classes of the dataset.</summary>
    public required int NumClasses { get; init; }

    /// <summary>A fingerprint (FNV-1a, hex) of the dataset's labels; a partition loaded against a dataset with other labels is rejected.</summary>
    public required string LabelsFingerprint { get; init; }

    /// <summary>Free-form creation parameters (fraction, per-class, minority groups, ...).</summary>
    public IReadOnlyDictionary<string, string> Parameters { get; init; } = new Dictionary<string, string>();
}
