using GroupRobust.Identification;

namespace GroupRobust.Study;

/// <summary>Error-set quality of one phase-I epoch (the JM1 paper's Table 4).</summary>
public sealed record IdentificationRecord(int Seed, string Source, int? Epoch, bool Chosen, int ErrorSetSize, IdentificationQuality Quality);
