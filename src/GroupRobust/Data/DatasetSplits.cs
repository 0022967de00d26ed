using GroupRobust.Groups;

namespace GroupRobust.Data;

/// <summary>Train, validation and test splits of one task, sharing a <see cref="GroupScheme"/>. Disposing disposes the three splits.</summary>
/// <param name="Train">The training split.</param>
/// <param name="Validation">The validation split (model selection).</param>
/// <param name="Test">The test split (reported numbers).</param>
public sealed record DatasetSplits(IGroupDataset Train, IGroupDataset Validation, IGroupDataset Test) : IDisposable
{
    /// <summary>The task's group structure (the training split's).</summary>
    public GroupScheme Scheme => Train.Scheme;

    /// <summary>Training-set count of every group (length C * A); needed for the adjusted average and GroupDRO's adjustment.</summary>
    /// <exception cref="InvalidOperationException">The training split has no group annotations.</exception>
    public long[] TrainGroupCounts() => GroupCounts.Of(Train);

    /// <summary>What the splits share and a loader created for them (a feature source, for example); disposed after them.</summary>
    internal IDisposable? Owned { get; init; }

    /// <inheritdoc />
    public void Dispose()
    {
        Train.Dispose();
        Validation.Dispose();
        Test.Dispose();
        Owned?.Dispose();
    }

    /// <summary>Collections print as their items, not as "System.String[]" (the members of the compiler's <c>ToString</c>).</summary>
    private bool PrintMembers(System.Text.StringBuilder builder) => GroupRobust.Internal.RecordText.Print(this, builder);
}
