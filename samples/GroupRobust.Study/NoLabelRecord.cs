namespace GroupRobust.Study;

/// <summary>One row of the no-labels section (the JM1 paper's Table 4 protocol): JM1 on the error set of a fixed phase-I epoch T, selected by validation average accuracy.</summary>
public sealed record NoLabelRecord(int Seed, int T, MethodResult Result);
