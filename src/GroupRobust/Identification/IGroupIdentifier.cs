using GroupRobust.Data;

namespace GroupRobust.Identification;

/// <summary>
/// Group identification (phase I of JTT and JM1): assigns every training sample to a group, true or inferred. An
/// error set is the assignment with two groups per class, (y, rest) and (y, error set). Any identifier's
/// <see cref="GroupAssignment"/> feeds any group-based component: JTT upsampling, JM1 mixing, GroupDRO,
/// group-balanced sampling, per-group evaluation.
/// </summary>
public interface IGroupIdentifier
{
    /// <summary>Assigns every sample of <paramref name="dataset"/> to a group.</summary>
    /// <param name="dataset">The training split.</param>
    /// <returns>The assignment, with metadata describing how it was made.</returns>
    GroupAssignment Identify(IGroupDataset dataset);
}
