namespace GroupRobust.Methods;

/// <summary>Host copies of <see cref="GroupDroLoss"/>'s observable quantities, for logging (taking one synchronises with the device).</summary>
/// <param name="Q">Group weights q (length G).</param>
/// <param name="ExpAvgLoss">EMA of the group losses.</param>
/// <param name="LastGroupLoss">Last batch's per-group mean losses (0 for absent groups).</param>
/// <param name="LastGroupCount">Last batch's per-group counts.</param>
/// <param name="LastGroupAccuracy">Last batch's per-group accuracy (0 for absent groups); null when no logits were given.</param>
/// <param name="LastWeights">Weights of the last robust loss (q, or btl's weights).</param>
/// <param name="Steps">Steps taken.</param>
public sealed record GroupDroSnapshot(double[] Q, double[] ExpAvgLoss, double[] LastGroupLoss, double[] LastGroupCount,
    double[]? LastGroupAccuracy, double[] LastWeights, long Steps);
