namespace GroupRobust.Methods;

/// <summary>Host copies of <see cref="GroupDroLoss"/>'s observable quantities, for logging (taking one synchronises with the device).</summary>
/// <param name="Q">Group weights q (length G).</param>
/// <param name="ExpAvgLoss">EMA of the group losses.</param>
/// <param name="LastGroupLoss">Per-group mean losses of the last batch that updated the state (0 for absent groups; a no-update evaluation leaves them).</param>
/// <param name="LastGroupCount">Per-group counts of that batch.</param>
/// <param name="LastGroupAccuracy">Per-group accuracy of that batch (0 for absent groups); null when no logits were given.</param>
/// <param name="LastWeights">Weights of that batch's robust loss (q, or btl's weights).</param>
/// <param name="Steps">Steps taken.</param>
public sealed record GroupDroSnapshot(double[] Q, double[] ExpAvgLoss, double[] LastGroupLoss, double[] LastGroupCount,
    double[]? LastGroupAccuracy, double[] LastWeights, long Steps)
{
    /// <summary>Collections print as their items, not as "System.String[]" (the members of the compiler's <c>ToString</c>).</summary>
    private bool PrintMembers(System.Text.StringBuilder builder) => GroupRobust.Internal.RecordText.Print(this, builder);
}
