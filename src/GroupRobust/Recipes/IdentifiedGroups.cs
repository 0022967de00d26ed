using GroupRobust.Evaluation;
using GroupRobust.Groups;
using GroupRobust.Identification;

namespace GroupRobust.Recipes;

/// <summary>
/// The groups a two-phase recipe identified: one assignment per candidate epoch T (or one, for identifiers that train
/// their own models or read true groups), the chosen T with its reason, and every group label that choosing them read.
/// </summary>
public sealed record IdentifiedGroups
{
    /// <summary>The identifier's name, e.g. "ERM misclassified".</summary>
    public required string Identifier { get; init; }

    /// <summary>The assignment of every candidate T that was identified (the key is T; 0 when there is no T).</summary>
    public required IReadOnlyDictionary<int, GroupAssignment> Candidates { get; init; }

    /// <summary>How T was chosen; null when there was no choice to make (one candidate, no phase-I model).</summary>
    public EpochChoice? Choice { get; init; }

    /// <summary>The chosen T; null when the groups came from no phase-I model.</summary>
    public int? Epoch => Choice?.Epoch ?? (Candidates.Count == 1 && Candidates.Keys.Single() > 0 ? Candidates.Keys.Single() : null);

    /// <summary>The chosen assignment (the one of <see cref="Epoch"/>).</summary>
    public required GroupAssignment Groups { get; init; }

    /// <summary>
    /// The validation split's groups by the same identifier, when it infers them (XRM): selecting on them reads no
    /// group label. Null otherwise.
    /// </summary>
    public GroupAssignment? Validation { get; init; }

    /// <summary>The group labels identification read: the rule that chose T (validation groups) and the identifier's own (an oracle's training groups).</summary>
    public required LabelBudget LabelBudget { get; init; }

    /// <summary>The group labels the identifier itself read (none, or an oracle's training groups): the budget of a candidate T fixed in advance.</summary>
    public required LabelBudget IdentifierLabelBudget { get; init; }

    /// <summary>
    /// Phase I's validation result at every epoch it trained, keyed by epoch (null when the groups came from no phase-I
    /// model): the candidates T and, when phase I trained on as the ERM baseline (<c>TrainPhaseOne(Epochs)</c>), every
    /// later epoch. What phase II must beat: <see cref="TwoPhaseRecipe.Train"/> (and a search, for the run it returns)
    /// warns when no epoch of a run reaches a better validation worst-group accuracy than phase I's best epoch up to
    /// <see cref="RecipeOptions.Epochs"/> (not for a run that reads no group label).
    /// </summary>
    public IReadOnlyDictionary<int, Evaluation.EvaluationResult>? PhaseOneValidation { get; init; }

    /// <summary>Collections print as their items, not as "System.String[]" (the members of the compiler's <c>ToString</c>).</summary>
    private bool PrintMembers(System.Text.StringBuilder builder) => GroupRobust.Internal.RecordText.Print(this, builder);
}
