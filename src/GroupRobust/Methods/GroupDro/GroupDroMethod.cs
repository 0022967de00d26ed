using GroupRobust.Data;
using GroupRobust.Groups;
using GroupRobust.Identification;
using GroupRobust.Methods;
using GroupRobust.Randomness;
using GroupRobust.Sampling;
using Microsoft.Extensions.Logging;
using TorchSharp;
using static TorchSharp.torch;

namespace GroupRobust.Methods;

/// <summary>
/// GroupDRO (Sagawa et al., 2020): the online robust loss <see cref="GroupDroLoss"/> over the groups of a
/// <see cref="GroupAssignment"/>, with group-balanced sampling by default (<see cref="GroupBalancedSampler"/>), as in the
/// reference. With true groups it is the paper's method (training group labels); with an identifier's groups it is the
/// "inferred groups to GroupDRO" combination (JTT's error set, EIIL's environments) and needs no training group labels.
/// </summary>
public sealed class GroupDroMethod : TrainingMethod
{
    private readonly GroupAssignment _groups;

    /// <summary>Creates the method.</summary>
    /// <param name="groups">The training split's groups, true (<see cref="GroupAssignment.FromTrueGroups"/>) or inferred.</param>
    /// <param name="seeds">Seed source of the epoch orders.</param>
    /// <param name="options">GroupDRO's options; the reference defaults when null.</param>
    /// <param name="groupBalancedSampling">Draw group-balanced epochs (default true, the reference's setting); false shuffles the data once per epoch.</param>
    /// <param name="logger">Receives configuration warnings.</param>
    public GroupDroMethod(GroupAssignment groups, SeedSource seeds, GroupDroOptions? options = null, bool groupBalancedSampling = true, ILogger? logger = null)
        : base("groupdro", (groups ?? throw new ArgumentNullException(nameof(groups))).Labels, seeds)
    {
        _groups = groups;
        ReadsGroups(groups);
        RobustLoss = Track("groupdro/", new GroupDroLoss(groups, options, logger));
        GroupBalanced = groupBalancedSampling;
        UseSampler(seed => groupBalancedSampling ? new GroupBalancedSampler(groups, seed) : new ShuffleSampler(groups.Count, seed));
    }

    /// <summary>The robust loss (it holds q and the EMA, which are part of the method's state); owned by the method.</summary>
    public GroupDroLoss RobustLoss { get; }

    /// <summary>Whether epochs are group-balanced.</summary>
    public bool GroupBalanced { get; }

    /// <inheritdoc />
    public override string Name => _groups.Source == GroupSource.TrueLabels ? "GroupDRO" : $"GroupDRO ({_groups.Metadata.Method} groups)";

    /// <inheritdoc />
    public override LabelBudget LabelBudget => _groups.TrainingBudget;

    /// <inheritdoc />
    protected override Tensor BatchLoss(nn.Module<Tensor, Tensor> model, Batch batch)
    {
        var logits = model.call(batch.Inputs);
        var perSample = nn.functional.cross_entropy(logits, batch.Labels, reduction: nn.Reduction.None);
        return RobustLoss.Forward(perSample, _groups.GroupTensor(batch.Indices, perSample.device), update: !Repeating);
    }

    /// <inheritdoc />
    /// <exception cref="InvalidOperationException">The robust loss is not attached to the job.</exception>
    private protected override void CheckParts()
    {
        if (RobustLoss.CrossProcessSum is null)
            throw new InvalidOperationException("GroupDRO on parts of a global batch needs the group statistics of the whole global batch: attach its loss to the job first (GroupRobust.Distributed.DistributedGroupDro.Attach(method.RobustLoss, collective)), on every process.");
    }

    /// <inheritdoc />
    /// <remarks>
    /// Needs the robust loss's statistics reduced over the job (<see cref="GroupDroLoss.CrossProcessSum"/>, set by
    /// GroupRobust.Distributed's <c>DistributedGroupDro.Attach</c>), so that q follows the global batch; a part without
    /// rows still takes part in that reduction.
    /// </remarks>
    private protected override Tensor PartLoss(nn.Module<Tensor, Tensor> model, Batch batch, GlobalBatch shard)
    {
        if (batch.Size > 0) return BatchLoss(model, batch);
        var device = batch.Inputs.device;
        using (RobustLoss.Forward(torch.zeros(0, ScalarType.Float32, device), torch.zeros(0, ScalarType.Int64, device), update: !Repeating))
        {
        }
        return EmptyPartLoss(batch);
    }

    /// <inheritdoc />
    protected override MethodEpochSummary Summarize(MethodEpochSummary summary)
        => summary with { GroupWeights = RobustLoss.Snapshot().LastWeights };

    /// <inheritdoc />
    protected override void Dispose(bool disposing)
    {
        if (disposing) RobustLoss.Dispose();
        base.Dispose(disposing);
    }
}
