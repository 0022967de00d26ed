using GroupRobust.Internal;
using Microsoft.Extensions.Logging;

namespace GroupRobust.Identification;

/// <summary>Logs what an identifier produced: sizes, per-class split, and the edge cases phase II must know about.</summary>
internal static class IdentificationReport
{
    public static Partition Report(Partition p, ILogger logger)
    {
        if (!logger.IsEnabled(LogLevel.Information) && !logger.IsEnabled(LogLevel.Warning)) return p;
        var err = p.ErrorCountsPerClass;
        var rest = p.RestCountsPerClass;
        Log.ErrorSetIdentified(logger, p.Metadata.Method, p.ErrorCount, p.Count, (double)p.ErrorCount / p.Count,
            string.Join(", ", Enumerable.Range(0, p.NumClasses).Select(c => $"{c}: {err[c]}/{err[c] + rest[c]}")));
        if (p.ErrorCount == 0) Log.EmptyErrorSet(logger, p.Metadata.Method);
        if (p.ErrorCount > 0)
            foreach (var c in p.ClassesOnOneSide()) Log.ClassOnOneSide(logger, c, err[c] + rest[c]);
        return p;
    }
}
