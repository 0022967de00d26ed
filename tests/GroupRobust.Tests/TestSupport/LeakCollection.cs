namespace GroupRobust.Tests.TestSupport;

/// <summary>Tests that read per-thread tensor statistics run alone.</summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class LeakCollection
{
    public const string Name = "Leak tests";
}
