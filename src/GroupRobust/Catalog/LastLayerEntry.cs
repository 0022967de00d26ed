using GroupRobust.Groups;
using Microsoft.Extensions.Logging;

namespace GroupRobust.Catalog;

/// <summary>
/// One last-layer method of the <see cref="MethodCatalog"/> (DFR, AFR): a new final linear layer for a trained model,
/// fitted on cached features. The last-layer recipe extracts the features, calls <see cref="Fit"/> and puts the head on
/// the model.
/// </summary>
public sealed class LastLayerEntry
{
    private readonly Func<LastLayerRequest, object, LastLayerFit> _fit;

    internal LastLayerEntry(string key, string name, string description, string reference, LabelBudget budget, double heldOutFraction, object defaults,
        Func<LastLayerRequest, object, LastLayerFit> fit)
    {
        Key = key;
        Name = name;
        Description = description;
        Reference = reference;
        LabelBudget = budget;
        HeldOutFraction = heldOutFraction;
        Defaults = defaults;
        _fit = fit;
    }

    /// <summary>The entry's key, e.g. "dfr".</summary>
    public string Key { get; }

    /// <summary>The name in tables.</summary>
    public string Name { get; }

    /// <summary>One sentence on what it fits.</summary>
    public string Description { get; }

    /// <summary>The paper (and reference code) it follows.</summary>
    public string Reference { get; }

    /// <summary>The group labels the fit reads.</summary>
    public LabelBudget LabelBudget { get; }

    /// <summary>
    /// The share of the training split the base model must not train on, fitted on instead (AFR: 0.2, the reference's
    /// 80/20 split); 0 when the method fits on validation and the base model trains on the whole split (DFR).
    /// </summary>
    public double HeldOutFraction { get; }

    /// <summary>The default options.</summary>
    public object Defaults { get; }

    /// <summary>The type of its options.</summary>
    public Type OptionsType => Defaults.GetType();

    /// <summary>Fits the new last layer.</summary>
    /// <param name="request">The features, the current head, the seeds, the options.</param>
    /// <exception cref="ArgumentException">The options are not of <see cref="OptionsType"/>, or the features do not fit the head.</exception>
    internal LastLayerFit Fit(LastLayerRequest request)
    {
        ArgumentNullException.ThrowIfNull(request);
        ArgumentNullException.ThrowIfNull(request.TrainFeatures, "request.TrainFeatures");
        ArgumentNullException.ThrowIfNull(request.ValidationFeatures, "request.ValidationFeatures");
        ArgumentNullException.ThrowIfNull(request.Initial, "request.Initial");
        ArgumentNullException.ThrowIfNull(request.Seeds, "request.Seeds");
        return _fit(request, EntryOptions.Resolve(request.Options, Defaults, $"{Name} ('{Key}')", "request.Options"));
    }

    /// <inheritdoc />
    public override string ToString() => $"{Key}: {Name}";

    internal static ILogger? Logger(LastLayerRequest request, string category) => request.Loggers?.CreateLogger(category);
}
