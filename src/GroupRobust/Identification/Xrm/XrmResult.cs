namespace GroupRobust.Identification;

/// <summary>What <see cref="XrmIdentifier.Discover"/> found: the environments of the training split (and of validation, when given), and the flip rates.</summary>
public sealed record XrmResult
{
    /// <summary>The training split's groups: (y, agree) and (y, cross-mistake); the cross-mistakes are the minority side.</summary>
    public required GroupAssignment Train { get; init; }

    /// <summary>The validation split's groups by the same read-out (for selection on inferred groups), or null.</summary>
    public GroupAssignment? Validation { get; init; }

    /// <summary>The final flip rate: the fraction of training samples whose dynamic label differs from the true one (the reference's selection score).</summary>
    public required double FlipRate { get; init; }

    /// <summary>The flip rate every <see cref="XrmOptions.ReportEvery"/> steps.</summary>
    public required IReadOnlyList<double> FlipRateHistory { get; init; }

    /// <summary>True when some class fell entirely into one environment (in training or validation) in every run trained: the reference discards such runs.</summary>
    public required bool Degenerate { get; init; }

    /// <summary>How many runs were trained: 1, plus one per degenerate run discarded (at most 1 + <see cref="XrmOptions.Restarts"/>).</summary>
    public int Attempts { get; init; } = 1;

    /// <summary>Collections print as their items, not as "System.String[]" (the members of the compiler's <c>ToString</c>).</summary>
    private bool PrintMembers(System.Text.StringBuilder builder) => GroupRobust.Internal.RecordText.Print(this, builder);
}
