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
        (r, o) => new JttMethod(r.Groups!, r.Seeds, (JttOptions)o, MethodEntry.Logger(r, "JTT")), publishedGrid: JttOptions.SearchGrid,
        trainsAsErm: o => ((JttOptions)o).Lambda == 0, upsamples: o => ((JttOptions)o).Lambda != 0);

    /// <summary>Just Mix Once: each sample mixed with a same-class partner from the other group.</summary>
    public static MethodEntry Jm1 { get; } = new("jm1", "JM1", "Each sample mixed with a same-label partner from the other partition, at the input, a hidden layer or the output.",
        "Just Mix Once (JM1), the seed paper", publishedGroups: "misclassified", new Jm1Options(),
        (r, o) => Jm1Method.Jm1(r.Train, r.Groups!, r.Seeds, (Jm1Options)o, MethodEntry.Logger(r, "Mixing")));

    /// <summary>JM1+: JM1 over a JTT-style upsampled epoch.</summary>
    public static MethodEntry Jm1Plus { get; } = new("jm1-plus", "JM1+", "JM1 over an epoch in which every error-set sample appears lambda + 1 times.",
        "Just Mix Once (JM1), Section 5", publishedGroups: "misclassified", new Jm1Options { UpsampleLambda = JttReweighter.AutomaticLambda },
        (r, o) => new Jm1Method(r.Train, r.Groups!, r.Seeds, (Jm1Options)o with { Policy = PartnerPolicy.OtherGroupSameClass, UpsampleLambda = ((Jm1Options)o).UpsampleLambda ?? JttReweighter.AutomaticLambda }, MethodEntry.Logger(r, "Mixing")),
        upsamples: o => ((Jm1Options)o).UpsampleLambda is not 0);

    /// <summary>
    /// c-MixUp: partners from the same class, no groups. Its <see cref="MethodEntry.PublishedGrid"/> is MixUp's
    /// <see cref="MixupOptions.SearchGrid"/> as the mixing weight's Beta(a, a), a in {0.1, 0.2, 1, 10} (a = 1 is its
    /// default U(0, 1)), since c-MixUp is MixUp with partners of the same class, and MixUp's a = 0 as a constant weight of
    /// 1 on the sample itself ("c-MixUp (no mixing)"), which trains as ERM does: a search keeps its best mixing setting
    /// only when it beats that ERM run on validation by more than one standard error (<c>RecipeOptions.OneStandardErrorRule</c>),
    /// and otherwise returns ERM and warns.
    /// </summary>
    public static MethodEntry ClassConditionalMixup { get; } = new("cmixup", "c-MixUp", "Each sample mixed with a random partner of the same class; no groups.",
        "Just Mix Once (JM1), baseline", publishedGroups: null, new Jm1Options { Schedule = AlphaSchedule.Uniform() },
        (r, o) => Jm1Method.ClassConditionalMixup(r.Train, r.Seeds, (Jm1Options)o, MethodEntry.Logger(r, "Mixing")),
        // MixUp's alphas as Beta(a, a) (a = 1 is c-MixUp's default U(0, 1)): c-MixUp is MixUp with partners of the same class
        // MixUp's a = 0 (no mixing) as a constant weight of 1 on the sample itself
        publishedGrid: MixupOptions.SearchGrid.Select(m => new Jm1Options { Schedule = m.Alpha == 1 ? Jm1Method.ClassConditionalMixupSchedule : m.Alpha == 0 ? Jm1Method.NoMixingSchedule : AlphaSchedule.Beta(m.Alpha, m.Alpha) }).ToList(),
        trainsAsErm: o => o is Jm1Options { Schedule: ConstantAlpha { Alpha: 1 }, UpsampleLambda: null });

    /// <summary>Unconditional JM1: partners from the other side, any class (ablation).</summary>
    public static MethodEntry UnconditionalJm1 { get; } = new("jm1-unconditional", "unconditional JM1", "JM1's ablation: partners from the other partition whatever their label; the sample's label is kept.",
        "Just Mix Once (JM1), ablation", publishedGroups: "misclassified", new Jm1Options(),
        (r, o) => Jm1Method.UnconditionalJm1(r.Train, r.Groups!, r.Seeds, (Jm1Options)o, MethodEntry.Logger(r, "Mixing")));

    /// <summary>Standard MixUp.</summary>
    public static MethodEntry Mixup { get; } = new("mixup", "MixUp", "Inputs mixed with a random permutation of the batch, labels mixed in the loss; lambda ~ Beta(a, a).",
        "Zhang et al., 2018", publishedGroups: null, new MixupOptions(), (r, o) => new MixupMethod(r.Train, r.Seeds, (MixupOptions)o), publishedGrid: MixupOptions.SearchGrid,
        trainsAsErm: o => o is MixupOptions { Alpha: <= 0 } m && m.Order == EpochOrder.Shuffled);

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
        "Levy et al., 2020", publishedGroups: null, new CvarDroOptions(), (r, o) => new CvarDroMethod(r.Train, r.Seeds, (CvarDroOptions)o), publishedGrid: CvarDroOptions.SearchGrid,
        trainsAsErm: o => o is CvarDroOptions { Alpha: 1 } c && c.Order == EpochOrder.Shuffled);

    /// <summary>Learning from Failure: a biased and a debiased network trained together.</summary>
    public static MethodEntry Lff { get; } = new("lff", "LfF", "A biased network trained with generalized cross entropy; the debiased one weights samples by their relative difficulty.",
        "Nam et al., 2020 (alinlab/LfF)", publishedGroups: null, new LffOptions(),
        (r, o) => new LffMethod(r.Train, r.Seeds, (LffOptions)o, MethodEntry.Logger(r, "LfF")), publishedGrid: LffOptions.SearchGrid,
        trainsAsErm: o => o is LffOptions { Reweight: false },
        model: (newModel, seeds) => new LffModel(newModel(seeds.Derive(MethodEntry.ModelInitStream)), newModel(seeds.Derive("lff-biased-init"))));

    /// <summary>LISA: selective mixup within a label or within a domain.</summary>
    public static MethodEntry Lisa { get; } = new("lisa", "LISA", "Per batch, mixup between groups of the same label (different attribute) or of the same attribute (different label).",
        "Yao et al., 2022 (huaxiuyao/LISA)", publishedGroups: "true-groups", new LisaOptions(),
        (r, o) => new LisaMethod(r.Train, r.Groups!, r.Seeds, (LisaOptions)o, MethodEntry.Logger(r, "Mixing")));

    /// <summary>Group-reweighted ERM: each sample's loss weighted by 1 / n_g of its group.</summary>
    public static MethodEntry Reweight { get; } = new("reweight", "ReWeight", "Mean cross entropy with fixed weights 1 / n_g per group (scaled to sum to the number of groups); shuffled epochs.",
        "SubpopBench ReWeight (Yang et al., 2023); Idrissi et al., 2022 (RWG)", publishedGroups: "true-groups", new ReweightOptions(),
        (r, o) => new ReweightMethod(r.Groups!, r.Seeds, (ReweightOptions)o));

    /// <summary>Square-root group reweighting: weights 1 / sqrt(n_g).</summary>
    public static MethodEntry SqrtReweight { get; } = new("reweight-sqrt", "SqrtReWeight", "Mean cross entropy with fixed weights 1 / sqrt(n_g) per group (scaled to sum to the number of groups); shuffled epochs.",
        "SubpopBench SqrtReWeight (Yang et al., 2023)", publishedGroups: "true-groups", new ReweightOptions { Weighting = GroupWeighting.InverseSquareRootSize },
        (r, o) => new ReweightMethod(r.Groups!, r.Seeds, (ReweightOptions)o));

    /// <summary>Class-balanced loss over groups: weights from the effective number of samples.</summary>
    public static MethodEntry ClassBalancedLoss { get; } = new("cbloss", "CBLoss", "Mean cross entropy with fixed weights (1 - beta) / (1 - beta^n_g) per group, beta = 0.9999; shuffled epochs.",
        "Cui et al., 2019; SubpopBench CBLoss", publishedGroups: "true-groups", new ReweightOptions { Weighting = GroupWeighting.EffectiveNumber },
        (r, o) => new ReweightMethod(r.Groups!, r.Seeds, (ReweightOptions)o));

    /// <summary>Focal loss: well-classified samples down-weighted by (1 - p)^gamma.</summary>
    public static MethodEntry Focal { get; } = new("focal", "Focal", "Mean of (1 - p)^gamma CE over the batch, p the true class's probability, gamma = 1; no groups.",
        "Lin et al., 2017; SubpopBench Focal", publishedGroups: null, new FocalOptions(), (r, o) => new FocalMethod(r.Train, r.Seeds, (FocalOptions)o), publishedGrid: FocalOptions.SearchGrid,
        trainsAsErm: o => o is FocalOptions { Gamma: 0 } f && f.Order == EpochOrder.Shuffled);

    /// <summary>LDAM: class-dependent margins proportional to n_y^(-1/4).</summary>
    public static MethodEntry Ldam { get; } = new("ldam", "LDAM", "Cross entropy of s (z - m_y e_y), margins m_y proportional to n_y^(-1/4) (largest 0.5), s = 30; class counts, no groups.",
        "Cao et al., 2019; SubpopBench LDAM", publishedGroups: null, new LdamOptions(), (r, o) => new LdamMethod(r.Train, r.Seeds, (LdamOptions)o), publishedGrid: LdamOptions.SearchGrid,
        trainsAsErm: o => o is LdamOptions { MaxMargin: 0, Scale: 1 } l && l.Order == EpochOrder.Shuffled);

    /// <summary>Balanced softmax: logits shifted by the log class sizes in training.</summary>
    public static MethodEntry BalancedSoftmax { get; } = new("bsoftmax", "Balanced softmax", "Cross entropy of the logits plus log n_y, the log class sizes; plain logits at prediction; class counts, no groups.",
        "Ren et al., 2020; SubpopBench BSoftmax", publishedGroups: null, new BalancedSoftmaxOptions(), (r, o) => new BalancedSoftmaxMethod(r.Train, r.Seeds, (BalancedSoftmaxOptions)o),
        publishedGrid: BalancedSoftmaxOptions.SearchGrid, trainsAsErm: o => o is BalancedSoftmaxOptions { Tau: 0 } b && b.Order == EpochOrder.Shuffled);

    /// <summary>IRMv1 over the attribute's environments.</summary>
    public static MethodEntry Irm { get; } = new("irm", "IRM", "Mean cross entropy of the environments (attribute values) plus lambda times the IRMv1 gradient penalty; lambda = 1 for 500 steps, then 100.",
        "Arjovsky et al., 2019; SubpopBench IRM", publishedGroups: "true-groups", new IrmOptions(),
        (r, o) => new IrmMethod(r.Groups!, r.Seeds, (IrmOptions)o));

    /// <summary>MMD: cross entropy plus the Gaussian-kernel MMD between the environments' representations.</summary>
    public static MethodEntry Mmd { get; } = new("mmd", "MMD", "Mean cross entropy plus the mean Gaussian-kernel MMD between the environments' penultimate representations (weight 1).",
        "Li et al., 2018; SubpopBench MMD", publishedGroups: "true-groups", new FeatureAlignmentOptions(),
        (r, o) => new FeatureAlignmentMethod(r.Groups!, r.Seeds, (FeatureAlignmentOptions)o));

    /// <summary>CORAL: cross entropy plus the mean and covariance differences between the environments' representations.</summary>
    public static MethodEntry Coral { get; } = new("coral", "CORAL", "Mean cross entropy plus the squared mean and covariance differences between the environments' penultimate representations (weight 1).",
        "Sun and Saenko, 2016; SubpopBench CORAL", publishedGroups: "true-groups", new FeatureAlignmentOptions { Kernel = FeatureKernel.MeanCovariance },
        (r, o) => new FeatureAlignmentMethod(r.Groups!, r.Seeds, (FeatureAlignmentOptions)o));

    /// <summary>SPARE: importance sampling over the clusters of each class.</summary>
    public static MethodEntry SpareSampling { get; } = new("spare-sampling", "SPARE", "Mean cross entropy over epochs drawn with weight 1 / |cluster|^p per sample, every class the same total; p = 2 for classes whose clusters' silhouette is below 0.9, else 1.",
        "Yang et al., 2023 (SPARE; SpuCo's SpareTrain)", publishedGroups: "spare", new SpareSamplingOptions(),
        (r, o) => new SpareMethod(r.Groups!, r.Seeds, (SpareSamplingOptions)o, MethodEntry.Logger(r, "SPARE")), publishedGrid: SpareSamplingOptions.SearchGrid);

    /// <summary>Every training method, in the order tables list them.</summary>
    public static IReadOnlyList<MethodEntry> Methods { get; } =
        [Erm, BalancedErm, BalancedErmSam, Jtt, Jm1, Jm1Plus, ClassConditionalMixup, UnconditionalJm1, Mixup, GroupDro, GroupJm1, GroupJm1Dro, CvarDro, Lff, Lisa,
         Reweight, SqrtReweight, ClassBalancedLoss, Focal, Ldam, BalancedSoftmax, Irm, Mmd, Coral, SpareSampling];

    /// <summary>The training method with key <paramref name="key"/>.</summary>
    /// <exception cref="ArgumentException">No method has that key (the message lists the keys).</exception>
    public static MethodEntry Method(string key)
    {
        ArgumentNullException.ThrowIfNull(key);
        return Methods.FirstOrDefault(e => e.Key == key)
            ?? throw new ArgumentException($"No training method '{key}'. Known: {string.Join(", ", Methods.Select(e => e.Key))}.", nameof(key));
    }
}
