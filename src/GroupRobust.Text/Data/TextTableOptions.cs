namespace GroupRobust.Text.Data;

/// <summary>The columns (CSV) or fields (JSON Lines) <see cref="TextTable"/> reads, and the names of the classes and attributes.</summary>
public sealed record TextTableOptions
{
    /// <summary>The text (default "text").</summary>
    public string TextColumn { get; init; } = "text";

    /// <summary>The second text of a sentence pair (default "text_pair"), read when the file has it; a row of a pair file without one is an error.</summary>
    public string PairColumn { get; init; } = "text_pair";

    /// <summary>The class, an integer in [0, classes) (default "label").</summary>
    public string LabelColumn { get; init; } = "label";

    /// <summary>The attribute (the spurious feature), an integer in [0, attributes) (default "attribute").</summary>
    public string AttributeColumn { get; init; } = "attribute";

    /// <summary>The split: "train", "validation" (or "val", "valid", "dev") or "test", or 0 / 1 / 2 (default "split").</summary>
    public string SplitColumn { get; init; } = "split";

    /// <summary>Class names; null (default) names them by number and counts them as the largest label + 1.</summary>
    public IReadOnlyList<string>? ClassNames { get; init; }

    /// <summary>Attribute names; null (default) names them by number and counts them as the largest attribute + 1.</summary>
    public IReadOnlyList<string>? AttributeNames { get; init; }

    /// <summary>Collections print as their items, not as "System.String[]" (the members of the compiler's <c>ToString</c>).</summary>
    private bool PrintMembers(System.Text.StringBuilder builder) => GroupRobust.Internal.RecordText.Print(this, builder);
}
