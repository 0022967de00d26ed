namespace GroupRobust.Study;

/// <summary>
/// A warning the library logged during the study (a recipe's guard, a mixer's report, a search's choice): the seed, the
/// part of the run it came from (a row's <c>--methods</c> spec, "phase I", "identification: NAME", or a no-labels row), the
/// event id (docs/bad-input.md lists them), the logger's category and the message.
/// </summary>
public sealed record WarningRecord(int Seed, string Scope, int EventId, string Category, string Message);
