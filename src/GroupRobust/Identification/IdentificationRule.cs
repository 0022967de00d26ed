namespace GroupRobust.Identification;

/// <summary>The rule that chose the identification epoch T (see <see cref="IdentificationEpoch"/>).</summary>
public enum IdentificationRule
{
    /// <summary>Highest phase-I validation worst-group accuracy.</summary>
    WorstGroupAccuracy,

    /// <summary>Highest phase-I validation average accuracy (group-free: the early-stopping point).</summary>
    AverageAccuracy,

    /// <summary>Highest F1 of phase-I validation errors as a detector of the minority groups.</summary>
    ValidationErrorSetF1,
}
