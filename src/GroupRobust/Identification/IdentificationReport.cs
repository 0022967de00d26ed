using GroupRobust.Internal;
using Microsoft.Extensions.Logging;

namespace GroupRobust.Identification;

/// <summary>Logs what an identifier produced: sizes, per-class split, and the edge cases phase II must know about.</summary>
internal static class IdentificationReport
{
    public static GroupAssignment Report(GroupAssignment p, ILogger logger)
    {
        if (!logger.IsEnabled(LogLevel.Information) && !logger.IsEnabled(LogLevel.Warning)) return p;
        Log.ErrorSetIdentified(logger, p.Metadata.Method, p.MinorityCount, p.Count, (double)p.MinorityCount / p.Count,
            string.Join(", ", Enumerable.Range(0, p.NumClasses).Select(c => p.CountsOfClass(c)).Select((n, c) => $"{c}: {n.Minority}/{n.Total}")));
        if (p.MinorityCount == 0) Log.EmptyErrorSet(logger, p.Metadata.Method);
        if (p.MinorityCount > 0)
            foreach (var c in p.ClassesInOneGroup()) Log.ClassOnOneSide(logger, c, p.CountsOfClass(c).Total);
        return p;
    }
}
