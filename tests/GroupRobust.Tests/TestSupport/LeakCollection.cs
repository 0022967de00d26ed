namespace GroupRobust.Tests.TestSupport;

/// <summary>Tests that read per-thread tensor statistics, or reseed and draw from torch's global generator, run alone.</summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class LeakCollection
{
    public const string Name = "Leak tests";
}
