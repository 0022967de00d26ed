namespace GroupRobust.Catalog;

/// <summary>What an identifier of the <see cref="MethodCatalog"/> works from.</summary>
public enum IdentifierInput
{
    /// <summary>A trained phase-I model (<see cref="IdentifierRequest.Model"/>), one assignment per candidate epoch T.</summary>
    PhaseOneModel,

    /// <summary>Models it trains itself (<see cref="IdentifierRequest.NewModel"/>, <see cref="IdentifierRequest.NewOptimizer"/>): XRM.</summary>
    OwnModels,

    /// <summary>The training split's true group labels (an oracle: it reads training group labels).</summary>
    TrueGroups,

    /// <summary>
    /// Models it trains itself (<see cref="IdentifierRequest.NewModel"/>, <see cref="IdentifierRequest.NewOptimizer"/>) on the
    /// training split without group labels and on the validation split with them (<see cref="IdentifierRequest.Validation"/>):
    /// SSA. It reads validation group labels to fit.
    /// </summary>
    ValidationGroups,
}
