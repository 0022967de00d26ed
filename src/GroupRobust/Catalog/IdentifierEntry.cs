using GroupRobust.Groups;
using GroupRobust.Identification;
using Microsoft.Extensions.Logging;

namespace GroupRobust.Catalog;

/// <summary>One group identifier of the <see cref="MethodCatalog"/>: its key, name, reference, input, label budget, default options and factory.</summary>
public sealed class IdentifierEntry
{
    private readonly Func<IdentifierRequest, object, IGroupIdentifier> _create;

    internal IdentifierEntry(string key, string name, string description, string reference, IdentifierInput input, object defaults,
        Func<IdentifierRequest, object, IGroupIdentifier> create)
    {
        Key = key;
        Name = name;
        Description = description;
        Reference = reference;
        Input = input;
        Defaults = defaults;
        _create = create;
    }

    /// <summary>The entry's key, e.g. "misclassified".</summary>
    public string Key { get; }

    /// <summary>The name in tables, e.g. "ERM misclassified".</summary>
    public string Name { get; }

    /// <summary>One sentence on what it infers.</summary>
    public string Description { get; }

    /// <summary>The paper (and reference code) it follows.</summary>
    public string Reference { get; }

    /// <summary>What it works from.</summary>
    public IdentifierInput Input { get; }

    /// <summary>
    /// The group labels it reads: the training split's for <see cref="IdentifierInput.TrueGroups"/> (an oracle), the
    /// validation split's to fit for <see cref="IdentifierInput.ValidationGroups"/> (SSA), else none.
    /// </summary>
    public LabelBudget LabelBudget => Input switch
    {
        IdentifierInput.TrueGroups => LabelBudget.TrainingGroups,
        IdentifierInput.ValidationGroups => LabelBudget.ValidationGroupsForFitting,
        _ => LabelBudget.None,
    };

    /// <summary>The default options.</summary>
    public object Defaults { get; }

    /// <summary>The type of its options.</summary>
    public Type OptionsType => Defaults.GetType();

    /// <summary>Builds the identifier.</summary>
    /// <param name="request">The phase-I model or the model and optimizer factories (as <see cref="Input"/> says), the seeds, the options.</param>
    /// <exception cref="ArgumentException">A member the identifier needs is missing (a validation split without group labels counts as missing), or the options are not of <see cref="OptionsType"/>.</exception>
    /// <exception cref="ArgumentOutOfRangeException"><see cref="IdentifierRequest.Epoch"/> is below 1.</exception>
    public IGroupIdentifier Create(IdentifierRequest request)
    {
        ArgumentNullException.ThrowIfNull(request);
        ArgumentNullException.ThrowIfNull(request.Seeds, "request.Seeds");
        if (request.Epoch is int t && t < 1)
            throw new ArgumentOutOfRangeException("request.Epoch", t, "The phase-I epoch T is numbered from 1.");
        if (Input == IdentifierInput.PhaseOneModel && request.Model is null)
            throw new ArgumentException($"{Name} ('{Key}') reads a phase-I model: set IdentifierRequest.Model.", "request.Model");
        if ((Input is IdentifierInput.OwnModels or IdentifierInput.ValidationGroups) && (request.NewModel is null || request.NewOptimizer is null))
            throw new ArgumentException($"{Name} ('{Key}') trains models of its own: set IdentifierRequest.NewModel and NewOptimizer.", request.NewModel is null ? "request.NewModel" : "request.NewOptimizer");
        if (Input == IdentifierInput.ValidationGroups && request.Validation is not { HasGroups: true })
            throw new ArgumentException($"{Name} ('{Key}') fits on the validation split's group labels: set IdentifierRequest.Validation to a split with group labels" +
                (request.Validation is null ? "." : " (the one given has none)."), "request.Validation");
        return _create(request, EntryOptions.Resolve(request.Options, Defaults, $"{Name} ('{Key}')", "request.Options"));
    }

    /// <inheritdoc />
    public override string ToString() => $"{Key}: {Name}";

    internal static ILogger? Logger(IdentifierRequest request) => request.Loggers?.CreateLogger("Identification");
}
