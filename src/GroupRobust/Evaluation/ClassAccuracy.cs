namespace GroupRobust.Evaluation;

/// <summary>Accuracy of one class on an evaluated split.</summary>
/// <param name="Label">Class index.</param>
/// <param name="Name">Class name.</param>
/// <param name="Count">Evaluated samples of the class.</param>
/// <param name="Correct">Correctly classified samples of the class.</param>
public sealed record ClassAccuracy(int Label, string Name, long Count, long Correct)
{
    /// <summary>Correct / Count in [0, 1]; null when the class has no evaluated sample.</summary>
    public double? Accuracy => Count == 0 ? null : (double)Correct / Count;
}
