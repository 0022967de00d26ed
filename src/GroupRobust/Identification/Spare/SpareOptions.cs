namespace GroupRobust.Identification;

/// <summary>Options of <see cref="SpareIdentifier"/> (Yang et al., 2023).</summary>
public sealed record SpareOptions
{
    /// <summary>
    /// The most clusters tried per class, at least 2 (default 4); the number is chosen in 2..MaxClusters by the silhouette
    /// score, as SPARE's reference (SpuCo's <c>SpareInference</c>, <c>max_clusters</c>) does.
    /// </summary>
    public int MaxClusters { get; init; } = 4;

    /// <summary>K-means restarts per number of clusters, the best inertia kept, at least 1 (default 5).</summary>
    public int Restarts { get; init; } = 5;

    /// <summary>
    /// Samples per class the silhouette score is computed on, at least 10 (default 2000; it costs their square): a
    /// seeded random subset when a class is larger, as scikit-learn's <c>silhouette_score(sample_size=...)</c>.
    /// </summary>
    public int SilhouetteSamples { get; init; } = 2000;

    /// <summary>Batch size, device and epoch tag of the model pass.</summary>
    public IdentificationOptions Pass { get; init; } = new();

    /// <summary>Throws when an option is out of range.</summary>
    public void Validate()
    {
        if (MaxClusters < 2) throw new ArgumentOutOfRangeException(nameof(MaxClusters), MaxClusters, "At least 2 clusters per class.");
        if (MaxClusters > 64) throw new ArgumentOutOfRangeException(nameof(MaxClusters), MaxClusters, "At most 64 clusters per class.");
        if (Restarts < 1) throw new ArgumentOutOfRangeException(nameof(Restarts), Restarts, "At least 1.");
        if (SilhouetteSamples < 10) throw new ArgumentOutOfRangeException(nameof(SilhouetteSamples), SilhouetteSamples, "At least 10.");
        ArgumentNullException.ThrowIfNull(Pass, nameof(Pass));
        Pass.Validate();
    }
}
