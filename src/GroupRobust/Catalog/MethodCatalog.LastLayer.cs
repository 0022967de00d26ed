using System.Globalization;
using GroupRobust.Groups;
using GroupRobust.Methods;

namespace GroupRobust.Catalog;

public static partial class MethodCatalog
{
    /// <summary>DFR on validation: L1 logistic regression on group-balanced resamples of the validation features.</summary>
    public static LastLayerEntry Dfr { get; } = new("dfr", "DFR", "A new last layer: L1 logistic regression on group-balanced resamples of validation, C tuned on its other half, 20 fits averaged.",
        "Kirichenko et al., 2023 (PolinaKirichenko/deep_feature_reweighting)", LabelBudget.ValidationGroupsForFitting, heldOutFraction: 0, new DfrOptions(),
        (r, o) =>
        {
            var result = global::GroupRobust.Methods.Dfr.OnValidation(r.TrainFeatures, r.ValidationFeatures, r.Seeds, (DfrOptions)o, LastLayerEntry.Logger(r, "DFR"));
            return new LastLayerFit
            {
                Head = result.Head, LabelBudget = result.LabelBudget, Details = result,
                Summary = string.Create(CultureInfo.InvariantCulture, $"C = {result.C}, {result.SamplesPerResample} validation samples per resample"),
            };
        });

    /// <summary>AFR: the ERM head retrained on held-out data with weights that favour the samples ERM gets wrong.</summary>
    public static LastLayerEntry Afr { get; } = new("afr", "AFR", "The ERM head retrained on a held-out 20% with per-sample weights exp(-gamma p_y); gamma, lambda and the step chosen on validation.",
        "Qiu et al., 2023 (AndPotap/afr)", LabelBudget.ValidationGroupsForSelection, heldOutFraction: 0.2, new AfrSearchOptions(),
        (r, o) =>
        {
            var result = AfrSearch.Run(r.TrainFeatures, r.ValidationFeatures, r.Initial, r.Seeds, (AfrSearchOptions)o, LastLayerEntry.Logger(r, "AFR"));
            return new LastLayerFit
            {
                Head = result.Head, LabelBudget = result.LabelBudget, Details = result,
                Summary = string.Create(CultureInfo.InvariantCulture, $"gamma {result.Gamma}, lambda {result.Lambda}, step {result.Step}, validation worst-group {result.ValidationWorstGroup:P1}"),
            };
        });

    /// <summary>CRT: a new last layer trained on the ERM model's training features with group-balanced sampling.</summary>
    public static LastLayerEntry Crt { get; } = new("crt", "CRT", "A new last layer (nn.Linear's initialisation) trained on the ERM model's training features with group-balanced sampling (SGD, momentum 0.9); the epoch chosen on validation.",
        "Kang et al., 2020; SubpopBench CRT", LabelBudget.TrainingGroups, heldOutFraction: 0, new CrtOptions(), FitCrt);

    /// <summary>ReWeightCRT: as CRT, with group weights 1 / n_g instead of balanced sampling.</summary>
    public static LastLayerEntry ReweightCrt { get; } = new("crt-reweight", "ReWeightCRT", "A new last layer (nn.Linear's initialisation) trained on the ERM model's training features with group weights 1 / n_g (SGD, momentum 0.9); the epoch chosen on validation.",
        "Kang et al., 2020; SubpopBench ReWeightCRT", LabelBudget.TrainingGroups, heldOutFraction: 0, new CrtOptions { Balancing = CrtBalancing.GroupReweighting }, FitCrt);

    /// <summary>VanillaCRT: as CRT, without balancing (reads no training group label).</summary>
    public static LastLayerEntry VanillaCrt { get; } = new("crt-vanilla", "VanillaCRT", "A new last layer (nn.Linear's initialisation) trained on the ERM model's training features, shuffled epochs, no balancing (SGD, momentum 0.9); the epoch chosen on validation.",
        "Kang et al., 2020; SubpopBench VanillaCRT", LabelBudget.ValidationGroupsForSelection, heldOutFraction: 0, new CrtOptions { Balancing = CrtBalancing.None }, FitCrt);

    private static LastLayerFit FitCrt(LastLayerRequest r, object o)
    {
        var result = global::GroupRobust.Methods.Crt.Run(r.TrainFeatures, r.ValidationFeatures, r.Initial, r.Seeds, (CrtOptions)o, LastLayerEntry.Logger(r, "CRT"));
        return new LastLayerFit
        {
            Head = result.Head, LabelBudget = result.LabelBudget, Details = result,
            Summary = string.Create(CultureInfo.InvariantCulture, $"epoch {result.Epoch} of {result.Validation.Count}, {((CrtOptions)o).Balancing}"),
        };
    }

    /// <summary>Every last-layer method.</summary>
    public static IReadOnlyList<LastLayerEntry> LastLayer { get; } = [Dfr, Afr, Crt, ReweightCrt, VanillaCrt];

    /// <summary>The last-layer method with key <paramref name="key"/>.</summary>
    /// <exception cref="ArgumentException">No last-layer method has that key (the message lists the keys).</exception>
    public static LastLayerEntry LastLayerMethod(string key)
    {
        ArgumentNullException.ThrowIfNull(key);
        return LastLayer.FirstOrDefault(e => e.Key == key)
            ?? throw new ArgumentException($"No last-layer method '{key}'. Known: {string.Join(", ", LastLayer.Select(e => e.Key))}.", nameof(key));
    }
}
