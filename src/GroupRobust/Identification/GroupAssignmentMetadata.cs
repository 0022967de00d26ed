namespace GroupRobust.Identification;

/// <summary>
/// Where a <see cref="GroupAssignment"/> came from and what it indexes: the method, the phase-I epoch, the dataset's
/// size and label fingerprint, the group structure (classes x values per class, with names), which groups are the
/// minority side, whether the groups are true annotations or inferred, and the creation parameters.
/// </summary>
public sealed record GroupAssignmentMetadata
{
    /// <summary>Identification method, e.g. "misclassification", "recorder", "loss-magnitude", "true-groups", "oracle".</summary>
    public required string Method { get; init; }

    /// <summary>Phase-I epoch the groups were taken at (T), when applicable.</summary>
    public int? Epoch { get; init; }

    /// <summary>Whether the group ids are the dataset's true annotations or inferred by an identifier.</summary>
    public required GroupSource Source { get; init; }

    /// <summary>Number of samples of the dataset the assignment indexes.</summary>
    public required int DatasetSize { get; init; }

    /// <summary>Number of classes C of the dataset.</summary>
    public required int NumClasses { get; init; }

    /// <summary>Number of groups per class K (2 for an error set: rest and error set; A for true groups).</summary>
    public required int GroupsPerClass { get; init; }

    /// <summary>Names of the classes (length C).</summary>
    public required IReadOnlyList<string> ClassNames { get; init; }

    /// <summary>Names of the values within a class (length K), e.g. "rest", "error set".</summary>
    public required IReadOnlyList<string> ValueNames { get; init; }

    /// <summary>The groups on the minority side (the error set's groups; for true groups the designated minority groups), ascending.</summary>
    public required IReadOnlyList<int> MinorityGroups { get; init; }

    /// <summary>A fingerprint (FNV-1a, hex) of the dataset's labels; an assignment loaded against a dataset with other labels is rejected.</summary>
    public required string LabelsFingerprint { get; init; }

    /// <summary>SHA-256 (hex) of the file's row lines, set by <see cref="GroupAssignment.Save(Stream)"/> and checked on load; null for files that predate it.</summary>
    public string? RowsSha256 { get; init; }

    /// <summary>
    /// SHA-256 (hex) of the metadata line without this field and of the row lines, set by
    /// <see cref="GroupAssignment.Save(Stream)"/> and checked on load: an edit of any field (the source above all, which sets
    /// the label budget) fails the load; null for files that predate it (those load as before, and their groups still
    /// count as true groups when they equal a dataset's, see <see cref="GroupAssignment.Source"/>).
    /// </summary>
    public string? ContentSha256 { get; init; }

    /// <summary>
    /// True when one of the library's identifiers made the groups from a model's predictions (misclassification, loss
    /// magnitude, the recorder, XRM, EIIL): they read no group label, so a perfect identifier is not counted as an oracle
    /// (equality with a dataset's true groups is recorded in <see cref="Parameters"/>' "provenance", since an identifier
    /// trusts the predictions or the model it is given). False for groups built by the public factories, which count as true
    /// groups when they equal those of a dataset they meet (see <see cref="GroupAssignment.Source"/>). Saved files keep the mark
    /// under <see cref="ContentSha256"/>; a file without that checksum does not vouch for it. Default false (not written).
    /// </summary>
    /// <remarks>The checksum catches edits and corruption, not a forger who recomputes it: the mark is a record of the library's
    /// own work, not a signature.</remarks>
    [System.Text.Json.Serialization.JsonIgnore(Condition = System.Text.Json.Serialization.JsonIgnoreCondition.WhenWritingDefault)]
    public bool IdentifiedByLibrary { get; init; }

    /// <summary>Free-form creation parameters (fraction, per-class, pass, ...).</summary>
    public IReadOnlyDictionary<string, string> Parameters { get; init; } = new Dictionary<string, string>();

    /// <summary>Collections print as their items, not as "System.String[]" (the members of the compiler's <c>ToString</c>).</summary>
    private bool PrintMembers(System.Text.StringBuilder builder) => GroupRobust.Internal.RecordText.Print(this, builder);
}
