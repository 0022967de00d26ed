using TorchSharp;

namespace GroupRobust.Tests.TestSupport;

internal static class LeakCheck
{
    /// <summary>
    /// Runs <paramref name="step"/> <paramref name="warmup"/> times, records the thread's live tensor count, runs it
    /// <paramref name="steps"/> more times and asserts that the count did not grow.
    /// </summary>
    public static void AssertFlat(Action step, int warmup = 5, int steps = 200)
    {
        DisposeScopeManager.Statistics.Reset();
        for (int i = 0; i < warmup; i++) step();
        long before = DisposeScopeManager.Statistics.ThreadTotalLiveCount;
        for (int i = 0; i < steps; i++) step();
        long after = DisposeScopeManager.Statistics.ThreadTotalLiveCount;
        Assert.True(after <= before, $"Live tensor count grew from {before} to {after} over {steps} steps.");
    }
}
