using GroupRobust.Data;
using GroupRobust.Groups;
using GroupRobust.Identification;
using GroupRobust.Mixing;
using GroupRobust.Randomness;
using GroupRobust.Sampling;
using Microsoft.Extensions.Logging;
using TorchSharp;
using static TorchSharp.torch;

namespace GroupRobust.Methods;

/// <summary>
/// LISA (Yao et al., ICML 2022, "Improving out-of-distribution robustness via selective augmentation"): every batch is
/// mixed, intra-label (same label, another domain; label kept) with probability p_sel, else intra-domain (same domain,
/// another label; labels mixed), with a per-sample weight lambda_i ~ Beta(2, 2), and trained with the soft-label cross
/// entropy lambda_i CE(f(x~_i), y_i) + (1 - lambda_i) CE(f(x~_i), y_partner). Partners come from <see cref="LisaMixer"/>.
/// </summary>
/// <remarks>
/// <para>Labels: with <see cref="GroupAssignment.FromTrueGroups"/> (the paper) LISA reads training group labels; with an
/// identifier's groups it reads none. Relation to JM1: JM1 is intra-label mixing only (p_sel = 1) across an inferred
/// partition, with one alpha per batch and no group-balanced sampling; LISA adds intra-domain mixing and needs the true
/// domains.</para>
/// <para>Epochs: group-balanced (<see cref="GroupBalancedSampler"/>, N draws with replacement, every group equally likely,
/// as the reference's one-loader-per-group batches are), or shuffled. Streams: "order", "selection" (strategy and
/// partners), "lambda", "layer" (the per-batch layer of a random mixing layer); the mixer's statistics are part of the state.</para>
/// </remarks>
public sealed class LisaMethod : TrainingMethod
{
    private readonly IGroupDataset _train;
    private readonly GroupAssignment _groups;
    private readonly LisaMixer _mixer;
    private readonly ReproducibleRandom _lambdaRng;
    private readonly PassCache _passes;

    /// <summary>Creates the method.</summary>
    /// <param name="train">The training split (partners are fetched from it).</param>
    /// <param name="groups">Its groups: the true ones for the paper's method, or inferred.</param>
    /// <param name="seeds">Seed source of the method's streams.</param>
    /// <param name="options">p_sel, the Beta parameter, the layer and the sampling; the reference defaults when null.</param>
    /// <param name="logger">Receives the mixer's per-epoch summaries and warnings.</param>
    /// <exception cref="ArgumentException"><paramref name="groups"/> does not index <paramref name="train"/>, or has one domain or one class.</exception>
    public LisaMethod(IGroupDataset train, GroupAssignment groups, SeedSource seeds, LisaOptions? options = null, ILogger? logger = null)
        : base("lisa", (train ?? throw new ArgumentNullException(nameof(train))).Labels, seeds)
    {
        ArgumentNullException.ThrowIfNull(groups);
        groups.EnsureMatches(train, nameof(groups));
        Options = options ?? new LisaOptions();
        Options.Validate();
        _groups = groups;
        ReadsGroups(groups);
        _train = groups.Readable(train);
        int k = groups.GroupsPerClass, c = groups.NumClasses;
        if (k < 2 && Options.SelectionProbability > 0)
            throw new ArgumentException($"LISA's intra-label mixing needs at least two domains per class; the group assignment has {k}.", nameof(groups));
        if (c < 2 && Options.SelectionProbability < 1)
            throw new ArgumentException($"LISA's intra-domain mixing needs at least two classes; the group assignment has {c}.", nameof(groups));
        _mixer = Track("lisa/", new LisaMixer(groups, Stream("selection"), Options.SelectionProbability, logger));
        _lambdaRng = Stream("lambda");
        _passes = PassCache.At(Options.Layer, Stream("layer"), Options.ClassifierName);
        bool balanced = Options.GroupBalancedSampling;
        UseSampler(seed => balanced ? new GroupBalancedSampler(groups, seed) : new ShuffleSampler(train.Count, seed));
    }

    /// <summary>The options in use.</summary>
    public LisaOptions Options { get; }

    /// <summary>The partner selection (strategy of the last batch, per-epoch counts).</summary>
    internal LisaMixer Mixer => _mixer;

    /// <inheritdoc />
    public override string Name
    {
        get
        {
            string layer = Options.Layer.Description == MixedForwardPass.InputLayer ? "" : $" ({Options.Layer.Description})";
            return _groups.Source == GroupSource.TrueLabels ? $"LISA{layer}" : $"LISA ({_groups.Metadata.Method} groups){layer}";
        }
    }

    /// <inheritdoc />
    public override LabelBudget LabelBudget => _groups.TrainingBudget;

    /// <inheritdoc />
    /// <remarks>
    /// Integer inputs (token ids) are refused when the layer can be the input (the default), before anything is drawn; at
    /// a hidden layer or the output (the reference's setting for text) they are fine.
    /// </remarks>
    protected override void CheckBatch(nn.Module<Tensor, Tensor> model, Batch batch)
        => MixedForwardPass.RequireMixable(batch.Inputs, Options.Layer.CandidatesFor(model), "LISA", nameof(batch));

    /// <inheritdoc />
    protected override Tensor BatchLoss(nn.Module<Tensor, Tensor> model, Batch batch) => Unchanged(_mixer, () => SelectAndMix(model, batch));

    private Tensor SelectAndMix(nn.Module<Tensor, Tensor> model, Batch batch)
    {
        var pass = _passes.For(model);   // before any draw: a model without the layer fails with the generators untouched
        var plan = _mixer.DrawPartners(batch);
        var lambdas = new double[plan.Count];
        for (int i = 0; i < lambdas.Length; i++) lambdas[i] = MathNet.Numerics.Distributions.Beta.Sample(_lambdaRng, Options.MixAlpha, Options.MixAlpha);
        return MixedLoss(pass, batch, plan, lambdas);
    }

    /// <summary>
    /// The step's loss once the draws are made: every row mixed with its partner of <paramref name="plan"/> with its own
    /// lambda at the options' layer, and the soft-label cross entropy. Internal: the reference-fixture tests replay a
    /// transcription's draws through it.
    /// </summary>
    internal Tensor MixedLoss(nn.Module<Tensor, Tensor> model, Batch batch, MixPlan plan, double[] lambdas) => MixedLoss(_passes.For(model), batch, plan, lambdas);

    private Tensor MixedLoss(MixedForwardPass pass, Batch batch, MixPlan plan, double[] lambdas)
    {
        var partners = _train.GetBatch(plan.PartnerIndices);
        var c = _mixer.Coefficients(plan, lambdas, batch.Inputs);
        var logits = pass.Run(batch.Inputs, partners.Inputs, c);
        var own = nn.functional.cross_entropy(logits, batch.Labels, reduction: nn.Reduction.None);
        var partner = nn.functional.cross_entropy(logits, partners.Labels.to(batch.Labels.device), reduction: nn.Reduction.None);
        var w = c.to(own.dtype);
        return (w * own + (1 - w) * partner).mean();
    }

    /// <inheritdoc />
    protected override MethodEpochSummary Summarize(MethodEpochSummary summary) => summary with { Mixing = _mixer.EndEpoch(Epoch) };
}
