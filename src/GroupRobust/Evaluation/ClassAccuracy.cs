namespace GroupRobust.Evaluation;

/// <summary>Accuracy (recall), precision and F1 of one class on an evaluated split.</summary>
/// <param name="Label">Class index.</param>
/// <param name="Name">Class name.</param>
/// <param name="Count">Evaluated samples of the class.</param>
/// <param name="Correct">Correctly classified samples of the class.</param>
public sealed record ClassAccuracy(int Label, string Name, long Count, long Correct)
{
    /// <summary>Evaluated samples predicted as this class (right or wrong); 0 when the evaluator was given none.</summary>
    public long Predicted { get; init; }

    /// <summary>Correct / Count in [0, 1] (the class's recall); null when the class has no evaluated sample.</summary>
    public double? Accuracy => Count == 0 ? null : (double)Correct / Count;

    /// <summary>Correct / Predicted in [0, 1]; 0 when the class was never predicted (sklearn's <c>zero_division=0</c>, as SubpopBench reports it); null when the class has no evaluated sample.</summary>
    public double? Precision => Count == 0 ? null : Predicted == 0 ? 0 : (double)Correct / Predicted;

    /// <summary>2 P R / (P + R), the harmonic mean of <see cref="Precision"/> and <see cref="Accuracy"/>; 0 when both are 0; null when the class has no evaluated sample.</summary>
    public double? F1 => Count == 0 ? null : Correct == 0 ? 0 : 2.0 * Correct / (Predicted + Count);
}
