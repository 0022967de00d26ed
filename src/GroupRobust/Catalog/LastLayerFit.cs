using GroupRobust.Groups;
using GroupRobust.Models;

namespace GroupRobust.Catalog;

/// <summary>What a last-layer method fitted.</summary>
public sealed record LastLayerFit
{
    /// <summary>The new last layer; put it on the model with <see cref="LinearHead.Load"/>.</summary>
    public required LinearHead Head { get; init; }

    /// <summary>The group labels the fit read (validation groups for fitting: DFR; for selection: AFR).</summary>
    public required LabelBudget LabelBudget { get; init; }

    /// <summary>What was chosen, in words (DFR's C; AFR's gamma, lambda and step).</summary>
    public required string Summary { get; init; }

    /// <summary>The method's own result (<c>DfrResult</c>, <c>AfrResult</c>), for its details.</summary>
    public required object Details { get; init; }
}
