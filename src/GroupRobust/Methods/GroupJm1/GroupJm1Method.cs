using GroupRobust.Data;
using GroupRobust.Groups;
using GroupRobust.Identification;
using GroupRobust.Methods;
using GroupRobust.Mixing;
using GroupRobust.Randomness;
using Microsoft.Extensions.Logging;
using TorchSharp;
using static TorchSharp.torch;
using GroupRobust.Sampling;

namespace GroupRobust.Methods;

/// <summary>
/// GroupJM1 (JM1 paper, Appendix D), for when group labels are available: per batch, the group with the highest mean
/// loss (measured on the batch itself, without gradients) is mixed at the input with same-class samples of the other
/// groups (<see cref="GroupJm1Mixer"/>); the loss is the cross entropy, or a robust loss over the groups (the
/// constructor's <c>robustLoss</c>: the paper's second variant trains with GroupDRO's, <c>new GroupDroLoss(groups)</c>).
/// Shuffled epochs.
/// </summary>
/// <remarks>
/// Finding the worst group reads G numbers from the device once per batch (inherent to the method), and the
/// measuring pass is one extra forward without gradients (in training mode, so batch-norm statistics see the batch
/// twice). Streams: "order", "partners", "alpha".
/// </remarks>
public sealed class GroupJm1Method : TrainingMethod
{
    private readonly IGroupDataset _train;
    private readonly GroupAssignment _groups;
    private readonly GroupJm1Mixer _mixer;
    private readonly AlphaSchedule _schedule;
    private readonly ReproducibleRandom _alphaRng;
    private readonly IGroupLoss? _robust;
    private readonly PassCache? _passes;   // null when mixing the inputs
    private int _worst;   // the worst group of the last batch

    /// <summary>Creates the method.</summary>
    /// <param name="train">The training split.</param>
    /// <param name="groups">Its groups (<see cref="GroupAssignment.FromTrueGroups"/> for the paper's method, or inferred).</param>
    /// <param name="seeds">Seed source of the method's streams.</param>
    /// <param name="options">The alpha schedule and orientation; the paper's defaults when null.</param>
    /// <param name="robustLoss">A robust loss over <paramref name="groups"/> to train with instead of the mean cross entropy (default null); the method takes ownership.</param>
    /// <param name="logger">Receives the mixer's per-epoch summaries.</param>
    /// <exception cref="ArgumentException">The groups were made for another split, or the robust loss weighs another number of groups.</exception>
    /// <exception cref="ArgumentOutOfRangeException">The options' orientation is not a defined value.</exception>
    public GroupJm1Method(IGroupDataset train, GroupAssignment groups, SeedSource seeds, GroupJm1Options? options = null, IGroupLoss? robustLoss = null, ILogger? logger = null)
        : base("groupjm1", (train ?? throw new ArgumentNullException(nameof(train))).Labels, seeds)
    {
        ArgumentNullException.ThrowIfNull(groups);
        groups.EnsureMatches(train, nameof(groups));
        _groups = groups;
        ReadsGroups(groups);
        _train = groups.Readable(train);
        Options = options ?? new GroupJm1Options();
        ArgumentNullException.ThrowIfNull(Options.Schedule, nameof(options));
        ArgumentNullException.ThrowIfNull(Options.Layer, nameof(options));
        if (!Enum.IsDefined(Options.Orientation))
            throw new ArgumentOutOfRangeException(nameof(options), Options.Orientation, "Unknown alpha orientation; expected MajorityWeight or MinorityWeight.");
        if (robustLoss is not null && robustLoss.NumGroups != groups.NumGroups)
            throw new ArgumentException($"The robust loss weighs {robustLoss.NumGroups} groups but the groups have {groups.NumGroups}: build it over these groups.", nameof(robustLoss));
        _mixer = new GroupJm1Mixer(groups, Stream("partners"), Options.Orientation, logger);
        Track("mixing/", _mixer.Tally);
        _alphaRng = Stream("alpha");
        _schedule = Options.Schedule;
        UseSampler(seed => new ShuffleSampler(train.Count, seed));
        if (!Options.Layer.IsInput) _passes = PassCache.At(Options.Layer, Stream("layer"), Options.ClassifierName);
        if (robustLoss is not null) _robust = Track("groupdro/", robustLoss);
    }

    /// <summary>The options in use.</summary>
    public GroupJm1Options Options { get; }

    /// <inheritdoc />
    public override string Name
        => (_robust is null ? "GroupJM1" : $"GroupJM1 + {_robust.Name}") + (Options.Layer.IsInput ? "" : $" ({Options.Layer.Description})");

    /// <inheritdoc />
    public override LabelBudget LabelBudget => _groups.TrainingBudget;

    /// <inheritdoc />
    /// <remarks>At the input GroupJM1 interpolates the inputs: integer inputs (token ids) are refused there, before anything is drawn; at a hidden layer or the output they are fine.</remarks>
    protected override void CheckBatch(nn.Module<Tensor, Tensor> model, Batch batch)
        => MixedForwardPass.RequireMixable(batch.Inputs, Options.Layer.CandidatesFor(model), "GroupJM1", nameof(batch));

    /// <inheritdoc />
    protected override Tensor BatchLoss(nn.Module<Tensor, Tensor> model, Batch batch) => Unchanged(_mixer.Tally, () =>
    {
        var g = _groups.GroupTensor(batch.Indices, batch.Labels.device);   // uploaded once: the measurement and the robust loss read it
        // the worst group is measured at the current weights; a repeated evaluation (SAM's second) keeps this choice
        if (!Repeating) _worst = WorstGroupOf(model, batch, g);
        var plan = _mixer.DrawPartners(batch, _worst);
        return MixedLoss(model, batch, g, plan, _schedule.Sample(Epoch, TotalEpochs, _alphaRng));
    });

    /// <summary>
    /// The group of <paramref name="batch"/> with the highest mean cross entropy under <paramref name="model"/> (one
    /// forward without gradients, in the model's current mode; lowest id on ties). Internal: the reference-fixture tests
    /// compare it with the transcription's choice.
    /// </summary>
    internal int WorstGroupOf(nn.Module<Tensor, Tensor> model, Batch batch)
    {
        using var scope = NewDisposeScope();
        return WorstGroupOf(model, batch, _groups.GroupTensor(batch.Indices, batch.Labels.device));
    }

    private int WorstGroupOf(nn.Module<Tensor, Tensor> model, Batch batch, Tensor g)
    {
        using var scope = NewDisposeScope();
        var counts = torch.zeros(_groups.NumGroups, ScalarType.Float64, g.device).scatter_add(0, g, torch.ones(g.shape[0], ScalarType.Float64, g.device));
        using var noGrad = torch.no_grad();
        var measured = nn.functional.cross_entropy(model.call(batch.Inputs), batch.Labels, reduction: nn.Reduction.None).to(ScalarType.Float64);
        var groupLoss = torch.zeros(_groups.NumGroups, ScalarType.Float64, g.device).scatter_add(0, g, measured) / counts.clamp_min(1);
        return GroupJm1Mixer.WorstGroup(groupLoss, counts);
    }

    /// <summary>
    /// The step's loss once the draws are made: the rows <paramref name="plan"/> mixes, mixed with their partners at the
    /// options' layer with <paramref name="alpha"/>, then the cross entropy (or the robust loss over the batch's groups).
    /// Internal: the reference-fixture tests replay a transcription's draws through it.
    /// </summary>
    internal Tensor MixedLoss(nn.Module<Tensor, Tensor> model, Batch batch, MixPlan plan, double alpha)
        => MixedLoss(model, batch, _groups.GroupTensor(batch.Indices, batch.Labels.device), plan, alpha);

    private Tensor MixedLoss(nn.Module<Tensor, Tensor> model, Batch batch, Tensor g, MixPlan plan, double alpha)
    {
        var partners = _train.GetBatch(plan.PartnerIndices);
        var logits = _passes is null
            ? model.call(_mixer.Mix(batch.Inputs, partners.Inputs, plan, alpha))
            : _passes.For(model).Run(batch.Inputs, partners.Inputs, _mixer.Coefficients(plan, alpha, batch.Inputs));
        if (_robust is null) return nn.functional.cross_entropy(logits, batch.Labels);
        return _robust.Loss(nn.functional.cross_entropy(logits, batch.Labels, reduction: nn.Reduction.None), g, update: !Repeating);
    }

    /// <inheritdoc />
    protected override MethodEpochSummary Summarize(MethodEpochSummary summary)
        => summary with { Mixing = _mixer.EndEpoch(Epoch), GroupWeights = _robust?.Weights() };

    /// <inheritdoc />
    protected override void Dispose(bool disposing)
    {
        if (disposing) _robust?.Dispose();
        base.Dispose(disposing);
    }
}
