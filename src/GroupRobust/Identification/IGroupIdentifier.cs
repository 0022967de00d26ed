using GroupRobust.Data;

namespace GroupRobust.Identification;

/// <summary>
/// Phase I of JTT and JM1: splits a training set into an error set (the proxy for the minority groups) and the
/// rest. Any identifier's <see cref="Partition"/> feeds any phase-II component (JTT upsampling, JM1 mixing).
/// </summary>
public interface IGroupIdentifier
{
    /// <summary>Identifies the error set of <paramref name="dataset"/>.</summary>
    /// <param name="dataset">The training split.</param>
    /// <returns>The partition, with metadata describing how it was made.</returns>
    Partition Identify(IGroupDataset dataset);
}
