using GroupRobust.Data;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace GroupRobust.Identification;

/// <summary>
/// The oracle partition of the JM1 paper: from true group labels, the minority is every sample whose group is not
/// the largest group of its class (or the groups given explicitly). The result is a two-sided assignment like an error
/// set, (y, rest) and (y, error set), marked <see cref="GroupSource.TrueLabels"/>: it reads the training group labels,
/// so it is an upper bound for identification quality, never a method without training groups.
/// </summary>
public sealed class OracleIdentifier : IGroupIdentifier
{
    private readonly IReadOnlyCollection<int>? _minorityGroups;
    private readonly ILogger _logger;

    /// <summary>Creates the identifier.</summary>
    /// <param name="minorityGroups">Explicit minority group ids; null (default) for the largest-group-per-class rule.</param>
    /// <param name="logger">Receives the summary; <see cref="NullLogger"/> by default.</param>
    public OracleIdentifier(IReadOnlyCollection<int>? minorityGroups = null, ILogger? logger = null)
    {
        _minorityGroups = minorityGroups?.ToArray();
        _logger = logger ?? NullLogger.Instance;
    }

    /// <inheritdoc />
    /// <exception cref="InvalidOperationException">The dataset has no group labels.</exception>
    public GroupAssignment Identify(IGroupDataset dataset)
    {
        ArgumentNullException.ThrowIfNull(dataset);
        if (!dataset.HasGroups)
            throw new InvalidOperationException("The oracle partition needs group labels, but the dataset has none.");
        var minority = (_minorityGroups ?? MinorityGroupsOf(dataset)).ToHashSet();
        foreach (var g in minority) dataset.Scheme.CheckGroup(g, "minorityGroups");
        var groups = dataset.Groups.Span;
        var mask = new bool[dataset.Count];
        for (int i = 0; i < mask.Length; i++) mask[i] = minority.Contains(groups[i]);
        var p = GroupAssignment.TwoSided(mask, dataset.Labels.Span, dataset.Scheme.NumClasses, "oracle", GroupSource.TrueLabels, null,
            new Dictionary<string, string> { ["minorityGroups"] = string.Join(" ", minority.Order()) }, dataset.Scheme.ClassNames);
        return IdentificationReport.Report(p, _logger);
    }

    /// <summary>
    /// The minority groups of <paramref name="dataset"/>: every group that is not the largest group of its class
    /// (when several groups tie for largest, all of them count as majority). Empty groups are minority groups.
    /// </summary>
    /// <exception cref="InvalidOperationException">The dataset has no group labels.</exception>
    public static IReadOnlyList<int> MinorityGroupsOf(IGroupDataset dataset)
    {
        ArgumentNullException.ThrowIfNull(dataset);
        if (!dataset.HasGroups)
            throw new InvalidOperationException("The oracle partition needs group labels, but the dataset has none.");
        var counts = GroupCounts.Of(dataset);
        int a = dataset.Scheme.NumAttributes;
        var minority = new List<int>();
        for (int y = 0; y < dataset.Scheme.NumClasses; y++)
        {
            long max = Enumerable.Range(0, a).Max(k => counts[y * a + k]);
            for (int k = 0; k < a; k++)
                if (counts[y * a + k] < max) minority.Add(y * a + k);
        }
        return minority;
    }
}
