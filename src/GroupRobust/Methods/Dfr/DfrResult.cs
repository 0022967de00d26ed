using GroupRobust.Groups;
using GroupRobust.Models;

namespace GroupRobust.Methods;

/// <summary>What <see cref="Dfr"/> fitted: the new last layer (on the raw features: the standardisation is folded in), the chosen C and the tuning scores.</summary>
public sealed record DfrResult
{
    /// <summary>The fitted last layer; put it on the model with <see cref="LinearHead.Load"/>.</summary>
    public required LinearHead Head { get; init; }

    /// <summary>The chosen C.</summary>
    public required double C { get; init; }

    /// <summary>The tuning score (worst-group or the named criterion's accuracy on the scoring data) of every C, in grid order.</summary>
    public required IReadOnlyList<(double C, double Score)> Tuning { get; init; }

    /// <summary>The group labels the fit read (validation groups for fitting, for the validation variant).</summary>
    public required LabelBudget LabelBudget { get; init; }

    /// <summary>Samples in each balanced resample of the final fit.</summary>
    public required int SamplesPerResample { get; init; }

    /// <summary>Collections print as their items, not as "System.String[]" (the members of the compiler's <c>ToString</c>).</summary>
    private bool PrintMembers(System.Text.StringBuilder builder) => GroupRobust.Internal.RecordText.Print(this, builder);
}
