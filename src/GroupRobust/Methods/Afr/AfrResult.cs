using GroupRobust.Groups;
using GroupRobust.Models;

namespace GroupRobust.Methods;

/// <summary>What <see cref="AfrSearch"/> chose (also through <c>LastLayerRecipe</c>): the last layer at the best step of the best configuration, and every configuration's score.</summary>
public sealed record AfrResult
{
    /// <summary>The retrained last layer; put it on the model with <see cref="LinearHead.Load"/>.</summary>
    public required LinearHead Head { get; init; }

    /// <summary>The chosen gamma.</summary>
    public required double Gamma { get; init; }

    /// <summary>The chosen lambda.</summary>
    public required double Lambda { get; init; }

    /// <summary>The chosen step (numbered from 1).</summary>
    public required int Step { get; init; }

    /// <summary>Its validation worst-group accuracy.</summary>
    public required double ValidationWorstGroup { get; init; }

    /// <summary>The labels the search read (validation groups for selection).</summary>
    public required LabelBudget LabelBudget { get; init; }

    /// <summary>Every configuration's best step and score, in grid order.</summary>
    public required IReadOnlyList<(double Gamma, double Lambda, int Step, double Score)> Grid { get; init; }

    /// <summary>Collections print as their items, not as "System.String[]" (the members of the compiler's <c>ToString</c>).</summary>
    private bool PrintMembers(System.Text.StringBuilder builder) => GroupRobust.Internal.RecordText.Print(this, builder);
}
