namespace GroupRobust.Evaluation;

/// <summary>The phase-I epoch T chosen for identification, and why.</summary>
/// <param name="Epoch">The chosen epoch.</param>
/// <param name="Rule">The rule that chose it (resolved).</param>
/// <param name="Score">The chosen epoch's validation score under that rule.</param>
/// <param name="Reason">A sentence explaining the choice, also logged.</param>
public sealed record EpochChoice(int Epoch, SelectionRule Rule, double Score, string Reason);
