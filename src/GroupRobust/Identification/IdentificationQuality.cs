using System.Globalization;
using System.Text;

namespace GroupRobust.Identification;

/// <summary>
/// How well the minority side of a group assignment (the error set) matches the true minority groups, as in the JM1 paper's Table 4: S = error samples from
/// minority groups, NS = error samples from majority groups, precision = S / |E|, recall = S / |minority|.
/// </summary>
public sealed record IdentificationQuality
{
    /// <summary>Error-set samples from minority groups (S).</summary>
    public required long MinorityInErrorSet { get; init; }

    /// <summary>Error-set samples from majority groups (NS).</summary>
    public required long MajorityInErrorSet { get; init; }

    /// <summary>Samples in minority groups overall.</summary>
    public required long MinorityTotal { get; init; }

    /// <summary>Error-set size |E|.</summary>
    public long ErrorSetSize => MinorityInErrorSet + MajorityInErrorSet;

    /// <summary>S / |E|; null for an empty error set.</summary>
    public double? Precision => ErrorSetSize == 0 ? null : (double)MinorityInErrorSet / ErrorSetSize;

    /// <summary>S / |minority|; null when there is no minority sample.</summary>
    public double? Recall => MinorityTotal == 0 ? null : (double)MinorityInErrorSet / MinorityTotal;

    /// <summary>The groups counted as minority.</summary>
    public required IReadOnlyList<int> MinorityGroups { get; init; }

    /// <summary>Per group: samples in the error set.</summary>
    public required IReadOnlyList<long> ErrorSetPerGroup { get; init; }

    /// <summary>Per group: samples overall.</summary>
    public required IReadOnlyList<long> TotalPerGroup { get; init; }

    /// <summary>A one-line summary, e.g. "S 180, NS 420, precision 30.0%, recall 75.0%".</summary>
    public override string ToString()
    {
        var sb = new StringBuilder();
        sb.Append(CultureInfo.InvariantCulture, $"S {MinorityInErrorSet}, NS {MajorityInErrorSet}");
        sb.Append(CultureInfo.InvariantCulture, $", precision {(Precision is double p ? (p * 100).ToString("F1", CultureInfo.InvariantCulture) + "%" : "n/a")}");
        sb.Append(CultureInfo.InvariantCulture, $", recall {(Recall is double r ? (r * 100).ToString("F1", CultureInfo.InvariantCulture) + "%" : "n/a")}");
        return sb.ToString();
    }
}
