using GroupRobust.Data;
using GroupRobust.Identification;
using GroupRobust.Internal;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using TorchSharp;
using static TorchSharp.torch;
using GroupRobust.Mixing;

namespace GroupRobust.Methods;

/// <summary>
/// GroupJM1 (JM1 paper, Appendix D), for when full group labels are available: per batch, the group with the highest
/// loss is mixed with same-class samples of the other groups; the other rows are left as they are. The groups come from
/// a <see cref="GroupAssignment"/>: true groups as in the paper, or any identifier's inferred groups. Train with the plain
/// or a robust loss (<see cref="IGroupLoss"/>, such as GroupDRO's).
/// </summary>
/// <remarks>Choosing the worst group reads G numbers from the device (<see cref="WorstGroup"/>): one small
/// synchronisation per batch, inherent to the method. Not thread-safe: use from two threads at once throws <see cref="InvalidOperationException"/>.</remarks>
internal sealed class GroupJm1Mixer : IPartnerMixer
{
    private readonly ExclusiveUse _use = new("GroupJm1Mixer");
    private readonly GroupAssignment _groups;
    private readonly Random _rng;
    private readonly int[][] _othersOfClassByGroup;
    private readonly MixingTally _tally;
    private readonly ILogger _logger;

    /// <summary>Creates the mixer.</summary>
    /// <param name="groups">The training split's groups (<see cref="GroupAssignment.FromTrueGroups"/> for the paper's method).</param>
    /// <param name="rng">Generator of the partner draws.</param>
    /// <param name="orientation">Which side alpha weights (the worst group is the minority side; default as <see cref="ClassConditionalMixer.Orientation"/>).</param>
    /// <param name="logger">Receives per-epoch summaries; <see cref="NullLogger"/> by default.</param>
    public GroupJm1Mixer(GroupAssignment groups, Random rng, AlphaOrientation orientation = AlphaOrientation.MajorityWeight, ILogger? logger = null)
    {
        _groups = groups;
        _rng = rng;
        Orientation = orientation;
        _logger = logger ?? NullLogger.Instance;
        _tally = new MixingTally(groups.NumClasses);
        var scheme = groups.Scheme;
        _othersOfClassByGroup = new int[scheme.NumGroups][];
        for (int g = 0; g < scheme.NumGroups; g++)
        {
            int y = scheme.LabelOf(g);
            _othersOfClassByGroup[g] = Enumerable.Range(0, scheme.NumGroups)
                .Where(h => h != g && scheme.LabelOf(h) == y).SelectMany(h => groups.MembersOf(h).ToArray()).ToArray();
        }
    }

    /// <summary>The groups the worst group is chosen among.</summary>
    public GroupAssignment Groups => _groups;

    /// <summary>Which side alpha weights.</summary>
    public AlphaOrientation Orientation { get; }

    /// <summary>The group with the highest mean loss among the groups present (lowest id on ties).</summary>
    /// <param name="groupLosses">Per-group losses [G] (e.g. the batch's per-group mean losses).</param>
    /// <param name="groupCounts">Per-group counts [G]; groups with 0 are skipped.</param>
    /// <remarks>
    /// Internal: <see cref="GroupJm1Method"/> passes the group statistics of a non-empty batch. The G numbers are read
    /// once (the one sync the method needs) and compared on the host: a NaN loss of a present group is an error, not a
    /// winner (an arg-max on the device would pick it silently, as NaN compares greater than every number there).
    /// </remarks>
    /// <exception cref="ArgumentException">A present group's loss is NaN (the model or the batch diverged).</exception>
    public static int WorstGroup(Tensor groupLosses, Tensor groupCounts)
    {
        double[] both;
        using (NewDisposeScope())
            both = torch.cat([groupLosses.to(ScalarType.Float64).flatten(), groupCounts.to(ScalarType.Float64, groupLosses.device).flatten()]).cpu().data<double>().ToArray();
        var losses = both.AsSpan(0, both.Length / 2);
        var counts = both.AsSpan(both.Length / 2);
        int worst = -1;
        for (int g = 0; g < losses.Length; g++)
        {
            if (!(counts[g] > 0)) continue;
            if (double.IsNaN(losses[g]))
                throw new ArgumentException($"The loss of group {g} ({counts[g]} rows in the batch) is NaN, so no worst group can be chosen: the model or the batch diverged (check the learning rate and the inputs).", nameof(groupLosses));
            if (worst < 0 || losses[g] > losses[worst]) worst = g;
        }
        return worst < 0 ? 0 : worst;
    }

    /// <summary>The group <see cref="DrawPartners(Batch)"/> mixes (set it per batch, e.g. from <see cref="WorstGroup"/>); null until set.</summary>
    public int? TargetGroup { get; set; }

    /// <summary>Partners for the rows of <see cref="TargetGroup"/> (the <see cref="IPartnerMixer"/> form of <see cref="DrawPartners(Batch, int)"/>).</summary>
    /// <exception cref="InvalidOperationException"><see cref="TargetGroup"/> was not set.</exception>
    public MixPlan DrawPartners(Batch batch)
        => DrawPartners(batch, TargetGroup ?? throw new InvalidOperationException("Set TargetGroup (the group to mix, e.g. GroupJm1Mixer.WorstGroup of the batch's group losses) before drawing partners."));

    /// <summary>Partners for the rows of <paramref name="worstGroup"/> (same class, other groups); other rows are left as they are (not counted as unmixed).</summary>
    public MixPlan DrawPartners(Batch batch, int worstGroup)
    {
        using var use = _use.Enter();
        var groups = _groups.Groups.Span;
        var idx = batch.Indices;
        var partners = new long[idx.Length];
        var mixed = new bool[idx.Length];
        var target = new bool[idx.Length];
        var pool = _othersOfClassByGroup[worstGroup];
        for (int i = 0; i < idx.Length; i++)
        {
            partners[i] = idx[i];
            if (groups[(int)idx[i]] != worstGroup) continue;
            target[i] = true;
            int y = _groups.LabelOf(idx[i]);
            if (pool.Length == 0)
            {
                _tally.Unmixed(y);
                continue;
            }
            mixed[i] = true;
            partners[i] = pool[_rng.Next(pool.Length)];
            _tally.Mixed(y);
        }
        return new MixPlan(idx.ToArray(), partners, mixed, target);
    }

    /// <summary>Per-row weights (the worst group is the minority side; see <see cref="AlphaOrientation"/>).</summary>
    public Tensor Coefficients(MixPlan plan, double alpha, Tensor like)
    {
        using var use = _use.Enter();
        _tally.Alpha(alpha);
        return MixCoefficients.Build(plan, _ => alpha, Orientation, symmetric: false, like);
    }

    /// <summary>The running statistics of the current epoch (targeted rows only).</summary>
    public MixingStatistics Statistics => _tally.Statistics;

    /// <inheritdoc />
    public MixingStatistics EndEpoch()
    {
        using (_use.Enter()) _tally.EnsureDrawn("GroupJm1Mixer");
        return EndEpoch(_tally.Epoch);
    }

    /// <summary>Closes <paramref name="epoch"/> (the owning method's epoch, which the statistics then carry).</summary>
    public MixingStatistics EndEpoch(int epoch)
    {
        using var use = _use.Enter();
        _tally.Epoch = epoch;
        return _tally.EndEpoch(_logger);
    }

    /// <summary>The running statistics as numbers, for method checkpoints.</summary>
    internal MixingTally Tally => _tally;

    /// <summary>Input-level mixing of the worst group's rows.</summary>
    public Tensor Mix(Tensor inputs, Tensor partnerInputs, MixPlan plan, double alpha)
    {
        using var use = _use.Enter();
        using var scope = NewDisposeScope();
        return Interpolation.Lerp(inputs, partnerInputs, Coefficients(plan, alpha, inputs)).MoveToOuterDisposeScope();
    }
}
