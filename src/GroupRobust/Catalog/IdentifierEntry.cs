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

    /// <summary>The group labels it reads: the training split's for <see cref="IdentifierInput.TrueGroups"/> (an oracle), else none.</summary>
    public LabelBudget LabelBudget => Input == IdentifierInput.TrueGroups ? LabelBudget.TrainingGroups : LabelBudget.None;

    /// <summary>The default options.</summary>
    public object Defaults { get; }

    /// <summary>The type of its options.</summary>
    public Type OptionsType => Defaults.GetType();

    /// <summary>Builds the identifier.</summary>
    /// <param name="request">The phase-I model or the model and optimizer factories (as <see cref="Input"/> says), the seeds, the options.</param>
    /// <exception cref="ArgumentException">A member the identifier needs is missing, or the options are not of <see cref="OptionsType"/>.</exception>
    /// <exception cref="ArgumentOutOfRangeException"><see cref="IdentifierRequest.Epoch"/> is below 1.</exception>
    public IGroupIdentifier Create(IdentifierRequest request)
    {
        ArgumentNullException.ThrowIfNull(request);
        ArgumentNullException.ThrowIfNull(request.Seeds, "request.Seeds");
        if (request.Epoch is int t && t < 1)
            throw new ArgumentOutOfRangeException("request.Epoch", t, "The phase-I epoch T is numbered from 1.");
        if (Input == IdentifierInput.PhaseOneModel && request.Model is null)
            throw new ArgumentException($"{Name} ('{Key}') reads a phase-I model: set IdentifierRequest.Model.", "request.Model");
        if (Input == IdentifierInput.OwnModels && (request.NewModel is null || request.NewOptimizer is null))
            throw new ArgumentException($"{Name} ('{Key}') trains models of its own: set IdentifierRequest.NewModel and NewOptimizer.", request.NewModel is null ? "request.NewModel" : "request.NewOptimizer");
        return _create(request, EntryOptions.Resolve(request.Options, Defaults, $"{Name} ('{Key}')", "request.Options"));
    }

    /// <inheritdoc />
    public override string ToString() => $"{Key}: {Name}";

    internal static ILogger? Logger(IdentifierRequest request) => request.Loggers?.CreateLogger("Identification");
}
