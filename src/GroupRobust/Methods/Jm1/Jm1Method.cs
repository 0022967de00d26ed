using GroupRobust.Data;
using GroupRobust.Groups;
using GroupRobust.Identification;
using GroupRobust.Mixing;
using GroupRobust.Randomness;
using GroupRobust.Sampling;
using Microsoft.Extensions.Logging;
using static TorchSharp.torch;

namespace GroupRobust.Methods;

/// <summary>
/// Just Mix Once (JM1) and its relatives as one method: per batch, draw partners (<see cref="ClassConditionalMixer"/>),
/// fetch them, draw alpha from the schedule, mix at the chosen layer (<see cref="MixedForwardPass"/>) and take the
/// cross entropy with the batch's labels. The policy makes it JM1, c-MixUp or unconditional JM1; an upsampling lambda
/// makes it JM1+. Use the factories (<see cref="Jm1"/>, <see cref="Jm1Plus"/>, <see cref="ClassConditionalMixup"/>,
/// <see cref="UnconditionalJm1"/>) or the constructor with <see cref="Jm1Options"/>.
/// </summary>
/// <remarks>
/// Randomness: the epoch order comes from the seed source's "order" stream (a pure function of the seed and the epoch;
/// with <see cref="PartnerSource.Paired"/> the partners it places come from that seed's "paired-partners" stream),
/// partners from "partners", alpha from "alpha" and the per-batch layer of random mixing from "layer"; all of them are
/// part of <see cref="TrainingMethod.GetState"/>, and so are the mixer's running statistics.
/// </remarks>
public sealed class Jm1Method : TrainingMethod
{
    private readonly IGroupDataset _train;
    private readonly GroupAssignment _groups;
    private readonly ClassConditionalMixer _mixer;
    private readonly ReproducibleRandom _alphaRng;
    private readonly PassCache _passes;

    /// <summary>Creates the method.</summary>
    /// <param name="train">The training split (partners are fetched from it).</param>
    /// <param name="groups">Phase I's groups of <paramref name="train"/> (an error set, true groups, any identifier's output).</param>
    /// <param name="seeds">Seed source of the method's streams.</param>
    /// <param name="options">Policy, orientation, schedule, layer, JM1+ lambda; JM1's defaults when null.</param>
    /// <param name="logger">Receives the mixer's per-epoch summaries and warnings.</param>
    /// <exception cref="ArgumentException"><paramref name="groups"/> does not index <paramref name="train"/>.</exception>
    public Jm1Method(IGroupDataset train, GroupAssignment groups, SeedSource seeds, Jm1Options? options = null, ILogger? logger = null)
        : base("mixing", (train ?? throw new ArgumentNullException(nameof(train))).Labels, seeds)
    {
        ArgumentNullException.ThrowIfNull(groups);
        groups.EnsureMatches(train, nameof(groups));
        Options = options ?? new Jm1Options();
        Options.Validate();
        _groups = groups;
        ReadsGroups(groups);
        _train = groups.Readable(train);
        _mixer = new ClassConditionalMixer(groups, Stream("partners"), Options.Policy, Options.Orientation, logger);
        Track("mixing/", _mixer.Tally);
        _alphaRng = Stream("alpha");
        _passes = PassCache.At(Options.Layer, Stream("layer"), Options.ClassifierName, Options.DetachPartners);
        int? lambda = Options.UpsampleLambda;
        Func<long, EpochSampler> own = seed => lambda is int l ? new JttReweighter(groups, l, seed, logger) : new ShuffleSampler(train.Count, seed);
        UseSampler(Options.PartnersInEffect == PartnerSource.Paired ? seed => new PairedSampler(own(seed), _mixer.PoolOfSample, new SeedSource(seed).Derive("paired-partners")) : own);
    }

    /// <summary>JM1: partners from the other groups of the same class (with an error set: the other side), at <see cref="Jm1Options.Layer"/>.</summary>
    public static Jm1Method Jm1(IGroupDataset train, GroupAssignment groups, SeedSource seeds, Jm1Options? options = null, ILogger? logger = null)
        => new(train, groups, seeds, (options ?? new Jm1Options()) with { Policy = PartnerPolicy.OtherGroupSameClass }, logger);

    /// <summary>JM1+ (JM1 over a JTT-style upsampled epoch): every minority-side sample appears <paramref name="lambda"/> + 1 times per epoch.</summary>
    public static Jm1Method Jm1Plus(IGroupDataset train, GroupAssignment groups, int lambda, SeedSource seeds, Jm1Options? options = null, ILogger? logger = null)
        => new(train, groups, seeds, (options ?? new Jm1Options()) with { Policy = PartnerPolicy.OtherGroupSameClass, UpsampleLambda = lambda }, logger);

    /// <summary>
    /// c-MixUp (the JM1 paper's baseline): partners from all samples of the same class, no groups; alpha ~ U(0, 1) on the
    /// batch sample unless <paramref name="options"/> says otherwise.
    /// </summary>
    public static Jm1Method ClassConditionalMixup(IGroupDataset train, SeedSource seeds, Jm1Options? options = null, ILogger? logger = null)
    {
        ArgumentNullException.ThrowIfNull(train);
        var none = GroupAssignment.Identified(new bool[train.Count], train, "none");
        var o = options ?? new Jm1Options { Schedule = ClassConditionalMixupSchedule };
        return new(train, none, seeds, o with { Policy = PartnerPolicy.SameClass }, logger);
    }

    /// <summary>c-MixUp's default distribution of the mixing weight: U(0, 1), MixUp's Beta(1, 1).</summary>
    internal static AlphaSchedule ClassConditionalMixupSchedule { get; } = AlphaSchedule.Uniform();

    /// <summary>c-MixUp's off setting: a constant weight of 1 on the batch sample, so that nothing of its partner is mixed in (MixUp's a = 0).</summary>
    internal static AlphaSchedule NoMixingSchedule { get; } = AlphaSchedule.Constant(1);

    /// <summary>Unconditional JM1 (ablation): partners from the other side, any label; the batch sample's label is kept.</summary>
    public static Jm1Method UnconditionalJm1(IGroupDataset train, GroupAssignment groups, SeedSource seeds, Jm1Options? options = null, ILogger? logger = null)
        => new(train, groups, seeds, (options ?? new Jm1Options()) with { Policy = PartnerPolicy.OtherSideAnyClass }, logger);

    /// <summary>The options in use.</summary>
    public Jm1Options Options { get; }

    /// <summary>The layer the last batch was mixed at.</summary>
    public string? LastLayer => _passes.Current?.LastLayer;

    /// <inheritdoc />
    public override string Name
    {
        get
        {
            string oracle = _groups.Source == GroupSource.TrueLabels ? " oracle" : "";
            string layer = Options.Layer.Description + Options.PartnersInEffect switch
            {
                PartnerSource.Batch => ", in-batch partners",
                PartnerSource.Paired => ", paired partners",
                _ => "",
            };
            // c-MixUp names a schedule other than its uniform one (its grid's runs: "c-MixUp (Beta(0.1,0.1))")
            string schedule = Options.Schedule.Name == ClassConditionalMixupSchedule.Name ? ""
                : Options.Policy == PartnerPolicy.SameClass && Options.Schedule is ConstantAlpha { Alpha: 1 } ? "no mixing" : Options.Schedule.Name;
            string cmixup = string.Join(", ", new[] { layer == MixedForwardPass.InputLayer ? "" : layer, schedule }.Where(s => s.Length > 0));
            return Options.Policy switch
            {
                PartnerPolicy.SameClass => cmixup.Length == 0 ? "c-MixUp" : $"c-MixUp ({cmixup})",
                PartnerPolicy.OtherSideAnyClass => $"unconditional JM1{oracle} ({layer})",
                _ => $"JM1{(Options.UpsampleLambda is null ? "" : "+")}{oracle} ({layer})",
            };
        }
    }

    /// <inheritdoc />
    public override LabelBudget LabelBudget => _groups.TrainingBudget;

    /// <inheritdoc />
    /// <remarks>
    /// Integer inputs (token ids) are refused when the layer can be the input (<see cref="MixingLayer.Input"/>, or a random
    /// layer whose candidates include it), before anything is drawn; at a hidden layer or the output they are fine.
    /// </remarks>
    protected override void CheckBatch(nn.Module<Tensor, Tensor> model, Batch batch)
        => MixedForwardPass.RequireMixable(batch.Inputs, Options.Layer.CandidatesFor(model), "JM1", nameof(batch));

    /// <inheritdoc />
    protected override Tensor BatchLoss(nn.Module<Tensor, Tensor> model, Batch batch) => Unchanged(_mixer.Tally, () => DrawAndMix(model, batch));

    private Tensor DrawAndMix(nn.Module<Tensor, Tensor> model, Batch batch)
    {
        var pass = _passes.For(model);   // before any draw: a model without the layer fails with the generators untouched
        var plan = _mixer.DrawPartners(batch, Options.PartnersInEffect);
        return MixedLoss(pass, batch, plan, Options.Schedule.Sample(Epoch, TotalEpochs, _alphaRng));
    }

    /// <summary>
    /// The step's loss once the draws are made: <paramref name="batch"/> mixed with the partners of <paramref name="plan"/>
    /// at the options' layer with <paramref name="alpha"/>, and the cross entropy with the batch's labels. Internal: the
    /// reference-fixture tests replay a transcription's draws through it (the method's own draws come from its streams).
    /// </summary>
    internal Tensor MixedLoss(nn.Module<Tensor, Tensor> model, Batch batch, MixPlan plan, double alpha) => MixedLoss(_passes.For(model), batch, plan, alpha);

    /// <inheritdoc />
    private protected override void CheckParts()
    {
    }

    /// <inheritdoc />
    /// <remarks>
    /// Partners are drawn for the whole global batch from the global groups, then alpha and the layer, exactly as one
    /// process with the global batch draws them; this part keeps its rows' partners (in-batch partners held by another
    /// part are fetched from the training set: the same mix). Every part therefore advances the generators alike, and
    /// the mixing statistics count the global batch on every process.
    /// </remarks>
    private protected override Tensor PartLoss(nn.Module<Tensor, Tensor> model, Batch batch, GlobalBatch shard) => Unchanged(_mixer.Tally, () => DrawAndMixPart(model, batch, shard));

    private Tensor DrawAndMixPart(nn.Module<Tensor, Tensor> model, Batch batch, GlobalBatch shard)
    {
        var pass = _passes.For(model);
        var global = _mixer.DrawPartners(shard.Indices, Options.PartnersInEffect);
        double alpha = Options.Schedule.Sample(Epoch, TotalEpochs, _alphaRng);
        if (batch.Size > 0) return MixedLoss(pass, batch, global.Slice(shard.Start, shard.Length), alpha);
        // no rows here: the draws the other parts make (alpha's statistics, the layer) and nothing to backpropagate
        _mixer.CountAlpha(alpha);
        pass.ChooseLayer();
        return EmptyPartLoss(batch);
    }

    private Tensor MixedLoss(MixedForwardPass pass, Batch batch, MixPlan plan, double alpha)
    {
        var c = _mixer.Coefficients(plan, alpha, batch.Inputs);
        Tensor logits;
        if (Options.PartnersInEffect == PartnerSource.Dataset)
        {
            using var partners = _train.GetBatch(plan.PartnerIndices);
            logits = pass.Run(batch.Inputs, partners.Inputs, c);
        }
        else
        {
            // partners from the batch itself where it holds one (paired batches hold one for nearly every row); only the
            // others are fetched (and, at a hidden layer, run)
            using var outside = plan.OutsidePartnerIndices.Length > 0 ? _train.GetBatch(plan.OutsidePartnerIndices) : null;
            logits = pass.Run(batch.Inputs, outside?.Inputs, plan.PartnerRows, c);
        }
        return nn.functional.cross_entropy(logits, batch.Labels);
    }

    /// <inheritdoc />
    protected override MethodEpochSummary Summarize(MethodEpochSummary summary) => summary with { Mixing = _mixer.EndEpoch(Epoch) };
}
