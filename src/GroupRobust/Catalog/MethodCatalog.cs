using GroupRobust.Data;
using GroupRobust.Identification;
using GroupRobust.Methods;
using GroupRobust.Mixing;
using GroupRobust.Sampling;
using GroupRobust.Training;

namespace GroupRobust.Catalog;

/// <summary>
/// The one place that names every method of the library with its factory, its defaults, the optimizer step it is
/// published with and the groups it trains on (SubpopBench's ALGORITHMS list and hyper-parameter registry; ML.NET's
/// catalog). <see cref="Methods"/> lists the training methods (phase II of a two-phase recipe, or a run of their own),
/// <see cref="LastLayer"/> the last-layer methods run on a trained model, <see cref="Identifiers"/> the group identifiers
/// (phase I). The Study, the recipes, the test suites and the benchmarks read these lists.
/// </summary>
public static partial class MethodCatalog
{
    /// <summary>Empirical risk minimisation: mean cross entropy over shuffled epochs.</summary>
    public static MethodEntry Erm { get; } = new("erm", "ERM", "Mean cross entropy over a new random permutation every epoch: the baseline and phase I.",
        "Vapnik, 1992", publishedGroups: null, new ErmOptions(), (r, o) => new ErmMethod(r.Train, r.Seeds, (ErmOptions)o));

    /// <summary>Group-balanced ERM: every group drawn equally often (SubpopBench's ReSample).</summary>
    public static MethodEntry BalancedErm { get; } = new("erm-balanced", "ERM (group-balanced)", "ERM over group-balanced epochs: N draws per epoch, every non-empty group equally likely.",
        "Idrissi et al., 2022 (SUBG/RWG); SubpopBench ReSample", publishedGroups: "true-groups", new ErmOptions(),
        (r, o) => new ErmMethod(r.Groups!.Readable(r.Train), r.Seeds, (ErmOptions)o with { Order = EpochOrder.GroupBalanced(r.Groups!) }));

    /// <summary>Group-balanced ERM trained with SAM (rho 0.05): the two-file method of the architecture issue.</summary>
    public static MethodEntry BalancedErmSam { get; } = new("erm-balanced-sam", "ERM (group-balanced) + SAM", "Group-balanced ERM with sharpness-aware minimisation (rho 0.05) as its optimizer step.",
        "Foret et al., 2021 (SAM) over group-balanced sampling", publishedGroups: "true-groups", new ErmOptions(),
        (r, o) => new ErmMethod(r.Groups!.Readable(r.Train), r.Seeds, (ErmOptions)o with { Order = EpochOrder.GroupBalanced(r.Groups!) }), step: OptimizerStep.Sam());

    /// <summary>JTT's phase II: the error set upsampled lambda times.</summary>
    public static MethodEntry Jtt { get; } = new("jtt", "JTT", "ERM over the training set plus the error set repeated lambda more times per epoch.",
        "Liu et al., 2021 (anniesch/jtt)", publishedGroups: "misclassified", new JttOptions(),
        (r, o) => new JttMethod(r.Groups!, r.Seeds, (JttOptions)o, MethodEntry.Logger(r, "JTT")), publishedGrid: JttOptions.PaperGrid);

    /// <summary>Just Mix Once: each sample mixed with a same-class partner from the other group.</summary>
    public static MethodEntry Jm1 { get; } = new("jm1", "JM1", "Each sample mixed with a same-label partner from the other partition, at the input, a hidden layer or the output.",
        "Just Mix Once (JM1), the seed paper", publishedGroups: "misclassified", new Jm1Options(),
        (r, o) => Jm1Method.Jm1(r.Train, r.Groups!, r.Seeds, (Jm1Options)o, MethodEntry.Logger(r, "Mixing")));

    /// <summary>JM1+: JM1 over a JTT-style upsampled epoch.</summary>
    public static MethodEntry Jm1Plus { get; } = new("jm1-plus", "JM1+", "JM1 over an epoch in which every error-set sample appears lambda + 1 times.",
        "Just Mix Once (JM1), Section 5", publishedGroups: "misclassified", new Jm1Options { UpsampleLambda = JttReweighter.AutomaticLambda },
        (r, o) => new Jm1Method(r.Train, r.Groups!, r.Seeds, (Jm1Options)o with { Policy = PartnerPolicy.OtherGroupSameClass, UpsampleLambda = ((Jm1Options)o).UpsampleLambda ?? JttReweighter.AutomaticLambda }, MethodEntry.Logger(r, "Mixing")));

    /// <summary>c-MixUp: partners from the same class, no groups.</summary>
    public static MethodEntry ClassConditionalMixup { get; } = new("cmixup", "c-MixUp", "Each sample mixed with a random partner of the same class; no groups.",
        "Just Mix Once (JM1), baseline", publishedGroups: null, new Jm1Options { Schedule = AlphaSchedule.Uniform() },
        (r, o) => Jm1Method.ClassConditionalMixup(r.Train, r.Seeds, (Jm1Options)o, MethodEntry.Logger(r, "Mixing")));

    /// <summary>Unconditional JM1: partners from the other side, any class (ablation).</summary>
    public static MethodEntry UnconditionalJm1 { get; } = new("jm1-unconditional", "unconditional JM1", "JM1's ablation: partners from the other partition whatever their label; the sample's label is kept.",
        "Just Mix Once (JM1), ablation", publishedGroups: "misclassified", new Jm1Options(),
        (r, o) => Jm1Method.UnconditionalJm1(r.Train, r.Groups!, r.Seeds, (Jm1Options)o, MethodEntry.Logger(r, "Mixing")));

    /// <summary>Standard MixUp.</summary>
    public static MethodEntry Mixup { get; } = new("mixup", "MixUp", "Inputs mixed with a random permutation of the batch, labels mixed in the loss; lambda ~ Beta(a, a).",
        "Zhang et al., 2018", publishedGroups: null, new MixupOptions(), (r, o) => new MixupMethod(r.Train, r.Seeds, (MixupOptions)o));

    /// <summary>GroupDRO: the online robust loss over groups, group-balanced sampling.</summary>
    public static MethodEntry GroupDro { get; } = new("groupdro", "GroupDRO", "Exponentiated-gradient weights on the group losses, the worst groups weighted most; group-balanced epochs.",
        "Sagawa et al., 2020 (kohpangwei/group_DRO)", publishedGroups: "true-groups", new GroupDroOptions(),
        (r, o) => new GroupDroMethod(r.Groups!, r.Seeds, (GroupDroOptions)o, logger: MethodEntry.Logger(r, "GroupDRO")));

    /// <summary>GroupJM1: the worst group of each batch mixed with same-class samples of the others.</summary>
    public static MethodEntry GroupJm1 { get; } = new("groupjm1", "GroupJM1", "Per batch, the group with the highest loss mixed with same-class samples of the other groups.",
        "Just Mix Once (JM1), Appendix D", publishedGroups: "true-groups", new GroupJm1Options(),
        (r, o) => new GroupJm1Method(r.Train, r.Groups!, r.Seeds, (GroupJm1Options)o, logger: MethodEntry.Logger(r, "Mixing")));

    /// <summary>GroupJM1 trained with GroupDRO's robust loss.</summary>
    public static MethodEntry GroupJm1Dro { get; } = new("groupjm1-dro", "GroupJM1 + GroupDRO", "GroupJM1 with GroupDRO's robust loss (reference defaults) instead of the mean cross entropy.",
        "Just Mix Once (JM1), Appendix D", publishedGroups: "true-groups", new GroupJm1Options(),
        (r, o) =>
        {
            var robust = new GroupDroLoss(r.Groups!, logger: MethodEntry.Logger(r, "GroupDRO"));
            try
            {
                return new GroupJm1Method(r.Train, r.Groups!, r.Seeds, (GroupJm1Options)o, robust, MethodEntry.Logger(r, "Mixing"));
            }
            catch
            {
                robust.Dispose();   // the method takes ownership only once it exists
                throw;
            }
        });

    /// <summary>CVaR-DRO: the mean of the largest per-sample losses.</summary>
    public static MethodEntry CvarDro { get; } = new("cvar-dro", "CVaR-DRO", "Per batch, the mean of the ceil(alpha B) largest per-sample losses; no groups.",
        "Levy et al., 2020", publishedGroups: null, new CvarDroOptions(), (r, o) => new CvarDroMethod(r.Train, r.Seeds, (CvarDroOptions)o));

    /// <summary>Learning from Failure: a biased and a debiased network trained together.</summary>
    public static MethodEntry Lff { get; } = new("lff", "LfF", "A biased network trained with generalized cross entropy; the debiased one weights samples by their relative difficulty.",
        "Nam et al., 2020 (alinlab/LfF)", publishedGroups: null, new LffOptions(),
        (r, o) => new LffMethod(r.Train, r.Seeds, (LffOptions)o, MethodEntry.Logger(r, "LfF")),
        model: (newModel, seeds) => new LffModel(newModel(seeds.Derive(MethodEntry.ModelInitStream)), newModel(seeds.Derive("lff-biased-init"))));

    /// <summary>LISA: selective mixup within a label or within a domain.</summary>
    public static MethodEntry Lisa { get; } = new("lisa", "LISA", "Per batch, mixup between groups of the same label (different attribute) or of the same attribute (different label).",
        "Yao et al., 2022 (huaxiuyao/LISA)", publishedGroups: "true-groups", new LisaOptions(),
        (r, o) => new LisaMethod(r.Train, r.Groups!, r.Seeds, (LisaOptions)o, MethodEntry.Logger(r, "Mixing")));

    /// <summary>Every training method, in the order tables list them.</summary>
    public static IReadOnlyList<MethodEntry> Methods { get; } =
        [Erm, BalancedErm, BalancedErmSam, Jtt, Jm1, Jm1Plus, ClassConditionalMixup, UnconditionalJm1, Mixup, GroupDro, GroupJm1, GroupJm1Dro, CvarDro, Lff, Lisa];

    /// <summary>The training method with key <paramref name="key"/>.</summary>
    /// <exception cref="ArgumentException">No method has that key (the message lists the keys).</exception>
    public static MethodEntry Method(string key)
    {
        ArgumentNullException.ThrowIfNull(key);
        return Methods.FirstOrDefault(e => e.Key == key)
            ?? throw new ArgumentException($"No training method '{key}'. Known: {string.Join(", ", Methods.Select(e => e.Key))}.", nameof(key));
    }
}
