using GroupRobust.Data;
using GroupRobust.Identification;
using GroupRobust.Randomness;
using Microsoft.Extensions.Logging;

namespace GroupRobust.Catalog;

/// <summary>What a <see cref="MethodEntry"/> builds a training method from.</summary>
public sealed record MethodRequest
{
    /// <summary>The training split (a method that reads no training group labels is handed it without them).</summary>
    public required IGroupDataset Train { get; init; }

    /// <summary>
    /// The groups a method that trains on groups (<see cref="MethodEntry.TakesGroups"/>) uses: an identifier's inferred
    /// groups, or the true ones (<see cref="GroupAssignment.FromTrueGroups"/>: the method then reads training group labels).
    /// Ignored by methods that take none.
    /// </summary>
    public GroupAssignment? Groups { get; init; }

    /// <summary>The seed source every stream of the method derives from.</summary>
    public required SeedSource Seeds { get; init; }

    /// <summary>The entry's options (of its <see cref="MethodEntry.OptionsType"/>); its <see cref="MethodEntry.Defaults"/> when null.</summary>
    public object? Options { get; init; }

    /// <summary>Creates the method's loggers; none when null.</summary>
    public ILoggerFactory? Loggers { get; init; }
}
