namespace GroupRobust.Sampling;

/// <summary>
/// An epoch-aware index sequence: each enumeration yields one epoch's sample indices and advances to the next
/// epoch, so successive epochs differ (unlike TorchSharp's seeded shuffler, which replays one order). Usable
/// directly as the <c>IEnumerable&lt;long&gt;</c> shuffler of TorchSharp's <c>DataLoader</c> and with
/// <see cref="Data.BatchIteration"/>.
/// </summary>
/// <remarks>
/// Epoch <c>e</c>'s order is a pure function of the sampler's seed and <c>e</c>, so saving <see cref="Epoch"/>
/// is enough to resume exactly.
/// </remarks>
public interface IIndexSampler : IEnumerable<long>
{
    /// <summary>The epoch the next enumeration yields (epochs are numbered from 1; 1 before the first enumeration).</summary>
    int Epoch { get; set; }

    /// <summary>Number of indices one epoch yields.</summary>
    long EpochLength { get; }

    /// <summary>The indices of epoch <paramref name="epoch"/>, without advancing <see cref="Epoch"/>.</summary>
    /// <param name="epoch">An epoch, at least 1.</param>
    long[] IndicesForEpoch(int epoch);
}
