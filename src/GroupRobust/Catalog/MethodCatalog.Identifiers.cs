using GroupRobust.Data;
using GroupRobust.Identification;

namespace GroupRobust.Catalog;

public static partial class MethodCatalog
{
    /// <summary>JTT's and JM1's phase I: the training samples the phase-I model misclassifies.</summary>
    public static IdentifierEntry Misclassified { get; } = new("misclassified", "ERM misclassified", "The error set: training samples the phase-I model gets wrong (eval-mode pass).",
        "Liu et al., 2021 (JTT); Just Mix Once (JM1)", IdentifierInput.PhaseOneModel, new IdentificationOptions(),
        (r, o) => new MisclassificationIdentifier(r.Model!, (IdentificationOptions)o with { Epoch = r.Epoch ?? ((IdentificationOptions)o).Epoch }, IdentifierEntry.Logger(r)));

    /// <summary>The samples with the largest phase-I losses.</summary>
    public static IdentifierEntry LossMagnitude { get; } = new("loss-magnitude", "ERM highest loss", "The error set: the top fraction of training samples by the phase-I model's cross entropy.",
        "loss ranking, as in SPARE and BAM's analyses", IdentifierInput.PhaseOneModel, new LossMagnitudeOptions(),
        (r, o) =>
        {
            var options = (LossMagnitudeOptions)o;
            return new LossMagnitudeIdentifier(r.Model!, options.Fraction, options.PerClass, options.Pass with { Epoch = r.Epoch ?? options.Pass.Epoch }, IdentifierEntry.Logger(r));
        });

    /// <summary>SPARE's clusters of the phase-I model's outputs within each class.</summary>
    public static IdentifierEntry Spare { get; } = new("spare", "SPARE clusters", "Per class, k-means clusters of the phase-I model's outputs (the number by silhouette); every cluster but a class's largest is minority.",
        "Yang et al., 2023 (SPARE; SpuCo's SpareInference)", IdentifierInput.PhaseOneModel, new SpareOptions(),
        (r, o) =>
        {
            var options = (SpareOptions)o;
            return new SpareIdentifier(r.Model!, r.Seeds, options with { Pass = options.Pass with { Epoch = r.Epoch ?? options.Pass.Epoch } }, IdentifierEntry.Logger(r));
        });

    /// <summary>GEORGE's clusters of the phase-I model's representation within each class.</summary>
    public static IdentifierEntry George { get; } = new("george", "GEORGE clusters", "Per class, Gaussian-mixture clusters of the phase-I model's reduced representation (the number by silhouette), then overclustered; every cluster but a class's largest is minority.",
        "Sohoni et al., 2020 (GEORGE; SpuCo's GeorgeInference)", IdentifierInput.PhaseOneModel, new GeorgeOptions(),
        (r, o) =>
        {
            var options = (GeorgeOptions)o;
            return new GeorgeIdentifier(r.Model!, r.Seeds, options with { Pass = options.Pass with { Epoch = r.Epoch ?? options.Pass.Epoch } }, IdentifierEntry.Logger(r));
        });

    /// <summary>The errors of a network trained with GCE to learn the easy feature (LfF's biased network as phase I).</summary>
    public static IdentifierEntry BiasedModel { get; } = new("gce-biased", "GCE-biased model's errors", "The error set: training samples misclassified by a fresh network trained for a few epochs with the generalized cross entropy, which learns the easy (spurious) feature first.",
        "Nam et al., 2020 (LfF's biased network); Zhang and Sabuncu, 2018 (GCE); bias amplification as in BAM (Li et al., 2023)", IdentifierInput.OwnModels, new BiasedModelOptions(),
        (r, o) => new BiasedModelIdentifier(r.NewModel!, r.NewOptimizer!, r.Seeds, (BiasedModelOptions)o, IdentifierEntry.Logger(r)));

    /// <summary>BAM's stage 1: the errors of a network trained with one auxiliary logit vector per sample.</summary>
    public static IdentifierEntry Bam { get; } = new("bam", "BAM's bias-amplified errors", "The error set: training samples misclassified by a fresh network trained with a learnable auxiliary logit vector per sample (lambda = 50) that absorbs the hard samples.",
        "Li et al., 2023 (motivationss/BAM)", IdentifierInput.OwnModels, new BamOptions(),
        (r, o) => new BamIdentifier(r.NewModel!, r.NewOptimizer!, r.Seeds, (BamOptions)o, IdentifierEntry.Logger(r)));

    /// <summary>EIIL's environments from the phase-I model as reference model.</summary>
    public static IdentifierEntry Eiil { get; } = new("eiil", "EIIL environments", "Two environments per class that maximise the IRM penalty of the reference model.",
        "Creager et al., 2021 (ecreager/eiil)", IdentifierInput.PhaseOneModel, new EiilOptions(),
        (r, o) =>
        {
            var options = (EiilOptions)o;
            return new EiilIdentifier(r.Model!, r.Seeds, options with { Pass = options.Pass with { Epoch = r.Epoch ?? options.Pass.Epoch } }, IdentifierEntry.Logger(r));
        });

    /// <summary>XRM's cross-mistakes of two twins trained with label flipping.</summary>
    public static IdentifierEntry Xrm { get; } = new("xrm", "XRM cross-mistakes", "Two twins, each trained on half the data, relabel what the other gets confidently wrong; the cross-mistakes form the minority.",
        "Pezeshki et al., 2024 (facebookresearch/XRM)", IdentifierInput.OwnModels, new XrmOptions(),
        (r, o) => new XrmIdentifier(r.NewModel!, r.NewOptimizer!, r.Seeds, (XrmOptions)o, IdentifierEntry.Logger(r)));

    /// <summary>SSA: the spurious attribute predicted by a network fitted semi-supervised on the validation split's attribute labels.</summary>
    public static IdentifierEntry Ssa { get; } = new("ssa", "SSA attributes", "Groups (class, predicted attribute): each training fold's attribute predicted by a network trained on the validation split's attribute labels and the other folds' confident pseudo-labels; reads validation group labels to fit.",
        "Nam et al., 2022 (Spread Spurious Attribute; SpuCo's SSA)", IdentifierInput.ValidationGroups, new SsaOptions(),
        (r, o) => new SsaIdentifier(r.NewModel!, r.NewOptimizer!, r.Validation!, r.Seeds, (SsaOptions)o, IdentifierEntry.Logger(r)));

    /// <summary>ORACLE: the training split's true groups.</summary>
    public static IdentifierEntry TrueGroups { get; } = new("true-groups", "true groups (oracle)", "The training split's annotated groups: reads training group labels.",
        "group annotations of the dataset", IdentifierInput.TrueGroups, new TrueGroupsOptions(),
        (_, _) => new TrueGroupsIdentifier());

    /// <summary>ORACLE: the JM1 paper's oracle partition (minority = groups smaller than their class's largest).</summary>
    public static IdentifierEntry Oracle { get; } = new("oracle", "oracle partition", "From true groups: every sample outside its class's largest group is on the minority side.",
        "Just Mix Once (JM1), oracle partition", IdentifierInput.TrueGroups, new TrueGroupsOptions(),
        (r, _) => new OracleIdentifier(logger: IdentifierEntry.Logger(r)));

    /// <summary>Every identifier, the label-free ones first, then SSA (validation groups), then the oracles (training groups).</summary>
    public static IReadOnlyList<IdentifierEntry> Identifiers { get; } = [Misclassified, LossMagnitude, Spare, George, Eiil, Xrm, BiasedModel, Bam, Ssa, TrueGroups, Oracle];

    /// <summary>The identifier with key <paramref name="key"/>.</summary>
    /// <exception cref="ArgumentException">No identifier has that key (the message lists the keys).</exception>
    public static IdentifierEntry Identifier(string key)
    {
        ArgumentNullException.ThrowIfNull(key);
        return Identifiers.FirstOrDefault(e => e.Key == key)
            ?? throw new ArgumentException($"No identifier '{key}'. Known: {string.Join(", ", Identifiers.Select(e => e.Key))}.", nameof(key));
    }

    /// <summary>The true groups of the split as an identifier (the "true-groups" entry).</summary>
    private sealed class TrueGroupsIdentifier : IGroupIdentifier
    {
        public GroupAssignment Identify(IGroupDataset dataset) => GroupAssignment.FromTrueGroups(dataset);
    }
}

/// <summary>The options of the true-groups identifiers: none (they read the annotations as they are).</summary>
internal sealed record TrueGroupsOptions;
