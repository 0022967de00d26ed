namespace GroupRobust.Evaluation;

/// <summary>Accuracy of one group on an evaluated split.</summary>
/// <param name="Group">Group id (y * A + a).</param>
/// <param name="Name">Readable name, e.g. <c>(landbird, water)</c>.</param>
/// <param name="Count">Evaluated samples of the group.</param>
/// <param name="Correct">Correctly classified samples of the group.</param>
public sealed record GroupAccuracy(int Group, string Name, long Count, long Correct)
{
    /// <summary>True when the split has no sample of this group; its accuracy is then undefined (null), never 0 or 1.</summary>
    public bool IsEmpty => Count == 0;

    /// <summary>Correct / Count in [0, 1]; null for an empty group.</summary>
    public double? Accuracy => Count == 0 ? null : (double)Correct / Count;
}
