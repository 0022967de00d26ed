namespace GroupRobust.Identification;

/// <summary>Options of <see cref="GeorgeIdentifier"/> (Sohoni et al., 2020, GEORGE; SpuCo's <c>GeorgeInference</c>).</summary>
public sealed record GeorgeOptions
{
    /// <summary>
    /// Dimensions the standardised representation is reduced to before clustering, in 1..16 (default 2, the reference's
    /// UMAP <c>n_components</c>; here by PCA, see <see cref="GeorgeIdentifier"/>).
    /// </summary>
    public int Components { get; init; } = 2;

    /// <summary>The most clusters of the base clustering per class, in 2..32 (default 5, SpuCo's GEORGE quickstart); the number is chosen by silhouette.</summary>
    public int MaxClusters { get; init; } = 5;

    /// <summary>
    /// Sub-clusters each base cluster is split into before the split is judged, in 2..16 (default 5, GEORGE's
    /// <c>oc_fac</c>); 1 turns overclustering off.
    /// </summary>
    public int OverclusterFactor { get; init; } = 5;

    /// <summary>EM runs per mixture (k-means initialisations), the best likelihood kept, at least 1 (default 3, GEORGE's <c>n_init</c>).</summary>
    public int Restarts { get; init; } = 3;

    /// <summary>
    /// Samples per class the silhouettes are computed on, at least 10 (default 2000; they cost their square): a seeded
    /// random subset when a class is larger, as scikit-learn's <c>silhouette_score(sample_size=...)</c>.
    /// </summary>
    public int SilhouetteSamples { get; init; } = 2000;

    /// <summary>Batch size, device and epoch tag of the representation pass.</summary>
    public IdentificationOptions Pass { get; init; } = new();

    /// <summary>Throws when an option is out of range (the parameter name is the option's).</summary>
    public void Validate()
    {
        if (Components is < 1 or > 16) throw new ArgumentOutOfRangeException(nameof(Components), Components, "Must be in 1..16.");
        if (MaxClusters is < 2 or > 32) throw new ArgumentOutOfRangeException(nameof(MaxClusters), MaxClusters, "Must be in 2..32.");
        if (OverclusterFactor is < 1 or > 16) throw new ArgumentOutOfRangeException(nameof(OverclusterFactor), OverclusterFactor, "Must be in 1..16 (1: no overclustering).");
        if (Restarts < 1) throw new ArgumentOutOfRangeException(nameof(Restarts), Restarts, "At least 1.");
        if (SilhouetteSamples < 10) throw new ArgumentOutOfRangeException(nameof(SilhouetteSamples), SilhouetteSamples, "At least 10.");
        ArgumentNullException.ThrowIfNull(Pass, nameof(Pass));
        Pass.Validate();
    }
}
