using GroupRobust.Internal;
using Microsoft.Extensions.Logging;

namespace GroupRobust.Identification;

/// <summary>Logs what an identifier produced: sizes, per-class split, and the edge cases phase II must know about.</summary>
internal static class IdentificationReport
{
    public static GroupAssignment Report(GroupAssignment p, ILogger logger)
    {
        if (!logger.IsEnabled(LogLevel.Information) && !logger.IsEnabled(LogLevel.Warning)) return p;
        var counts = p.GroupCounts();
        int k = p.GroupsPerClass;
        long OfClass(int c) => Enumerable.Range(0, k).Sum(v => counts[c * k + v]);
        long MinorityOfClass(int c) => Enumerable.Range(0, k).Where(v => p.IsMinorityGroup(c * k + v)).Sum(v => counts[c * k + v]);
        Log.ErrorSetIdentified(logger, p.Metadata.Method, p.MinorityCount, p.Count, (double)p.MinorityCount / p.Count,
            string.Join(", ", Enumerable.Range(0, p.NumClasses).Select(c => $"{c}: {MinorityOfClass(c)}/{OfClass(c)}")));
        if (p.MinorityCount == 0) Log.EmptyErrorSet(logger, p.Metadata.Method);
        if (p.MinorityCount > 0)
            foreach (var c in p.ClassesInOneGroup()) Log.ClassOnOneSide(logger, c, (int)OfClass(c));
        return p;
    }
}
