using GroupRobust.Evaluation;
using GroupRobust.Groups;
using GroupRobust.Models;

namespace GroupRobust.Methods;

/// <summary>What <see cref="Crt"/> fitted: the retrained last layer, the epoch chosen on validation, and every epoch's validation result.</summary>
public sealed record CrtResult
{
    /// <summary>The retrained last layer (the chosen epoch's); put it on the model with <see cref="LinearHead.Load"/>.</summary>
    public required LinearHead Head { get; init; }

    /// <summary>The validation-selected epoch (from 1).</summary>
    public required int Epoch { get; init; }

    /// <summary>The group labels the fit read: training groups for the balanced variants, else what the selection rule read on validation.</summary>
    public required LabelBudget LabelBudget { get; init; }

    /// <summary>The validation result of every epoch, in order.</summary>
    public required IReadOnlyList<EpochResult> Validation { get; init; }

    /// <summary>Collections print as their items, not as "System.String[]" (the members of the compiler's <c>ToString</c>).</summary>
    private bool PrintMembers(System.Text.StringBuilder builder) => GroupRobust.Internal.RecordText.Print(this, builder);
}
