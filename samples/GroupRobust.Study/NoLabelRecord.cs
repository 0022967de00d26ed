namespace GroupRobust.Study;

/// <summary>One row of the no-labels section (the JM1 paper's Table 4 protocol): JM1 on the error set of a fixed phase-I epoch T, selected by validation average accuracy.</summary>
public sealed record NoLabelRecord(int Seed, int T, MethodResult Result)
{
    /// <summary>The name of the no-labels run at <paramref name="t"/> in the comparison with ERM and the warnings.</summary>
    public static string RowName(int t) => string.Create(System.Globalization.CultureInfo.InvariantCulture, $"JM1 without group labels, T = {t}");
}
