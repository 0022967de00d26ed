using GroupRobust.Data;
using GroupRobust.Identification;
using GroupRobust.Internal;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using TorchSharp;
using static TorchSharp.torch;

namespace GroupRobust.Mixing;

/// <summary>
/// JM1's phase II (Just Mix Once): every sample of a batch is mixed with a partner of the same label drawn uniformly
/// from the other groups of its class, h_mix = alpha h_minority + (1 - alpha) h_majority, keeping the label. With an
/// error set (two groups per class) the partner comes from the other side of the partition, as in the paper; any
/// <see cref="GroupAssignment"/> works, true or inferred, with any number of groups per class. No oversampling: the
/// dataset is iterated once per epoch. The c-MixUp and unconditional-JM1 baselines are other
/// <see cref="PartnerPolicy"/> values.
/// </summary>
/// <remarks>
/// <para>Partner sampling runs on the host from the assignment's per-group index lists (no device access). The mix
/// itself is one <c>lerp</c> on the inputs' device and dtype; per-row weights are uploaded once per batch.</para>
/// <para>Honest accounting: a sample whose class has no member in another group is paired with itself and counted as
/// unmixed. <see cref="EndEpoch()"/> returns the epoch's <see cref="MixingStatistics"/> and logs a warning once per epoch
/// when samples went unmixed. With <see cref="PartnerPolicy.OtherGroupSameClass"/> the constructor also warns for a class
/// entirely on one side and for an error side that holds half or more of its class: no minority, as the mixing assumes
/// (the bound of JTT's automatic lambda and of the recipe's searches).</para>
/// <para>Not thread-safe (its generator and counts are shared state): use from two threads at once throws
/// <see cref="InvalidOperationException"/> instead of interleaving draws.</para>
/// <para>For mixing at a hidden layer, pass <see cref="Coefficients(MixPlan, double, Tensor)"/> to
/// <see cref="MixedForwardPass"/>; the downstream <c>Methods.Jm1Method</c> assembles the whole step.</para>
/// </remarks>
public sealed class ClassConditionalMixer : IPartnerMixer
{
    private readonly ExclusiveUse _use = new("ClassConditionalMixer");
    private readonly GroupAssignment _groups;
    private readonly Random _rng;
    private readonly ILogger _logger;
    private readonly MixingTally _tally;
    private readonly int[][] _pools;
    private readonly int[] _minorityPool = [], _majorityPool = [];
    private readonly int[][] _eligibleGroups;   // per group: the groups whose members are in its pool (for in-batch draws)

    /// <summary>Creates the mixer.</summary>
    /// <param name="groups">Phase I's groups of the training set (an error set, true groups, or any identifier's output); the minority groups are the minority side.</param>
    /// <param name="rng">Generator for partner draws (advanced by every draw).</param>
    /// <param name="policy">Where partners come from (default <see cref="PartnerPolicy.OtherGroupSameClass"/>, JM1).</param>
    /// <param name="orientation">
    /// Which sample alpha weights (default <see cref="AlphaOrientation.MajorityWeight"/>: with Beta(2, 5) the mix stays close to
    /// the error-set sample, the reading of the paper's text; chosen by experiment, see docs/results.md).
    /// </param>
    /// <param name="logger">Receives per-epoch summaries and warnings (unmixed samples, an error side that is no minority of its class); <see cref="NullLogger"/> by default.</param>
    public ClassConditionalMixer(GroupAssignment groups, Random rng, PartnerPolicy policy = PartnerPolicy.OtherGroupSameClass,
        AlphaOrientation orientation = AlphaOrientation.MajorityWeight, ILogger? logger = null)
    {
        ArgumentNullException.ThrowIfNull(groups);
        ArgumentNullException.ThrowIfNull(rng);
        _groups = groups;
        _rng = rng;
        if (!Enum.IsDefined(policy)) throw new ArgumentOutOfRangeException(nameof(policy), policy, "Unknown partner policy.");
        if (!Enum.IsDefined(orientation)) throw new ArgumentOutOfRangeException(nameof(orientation), orientation, "Unknown orientation.");
        Policy = policy;
        Orientation = orientation;
        _logger = logger ?? NullLogger.Instance;
        _tally = new MixingTally(groups.NumClasses);
        int k = groups.GroupsPerClass;
        // The pools of the policy in use only. Group members are ascending, pools concatenate groups in id order.
        switch (Policy)
        {
            case PartnerPolicy.OtherGroupSameClass:
                _pools = Enumerable.Range(0, groups.NumGroups).Select(g =>
                {
                    int y = g / k;
                    var others = Enumerable.Range(y * k, k).Where(h => h != g).ToArray();
                    return others.Length == 1
                        ? groups.MembersOf(others[0]).ToArray()
                        : others.SelectMany(h => groups.MembersOf(h).ToArray()).Order().ToArray();
                }).ToArray();
                foreach (var c in groups.ClassesInOneGroup())
                    Log.ClassOnOneSide(_logger, c, groups.CountsOfClass(c).Total);
                // a minority side that is half or more of its class (the bound of JTT's automatic lambda and of the recipe's
                // searches): the sides are not what the mixing assumes, and near all of the class its partners are a handful
                foreach (int c in groups.ClassesWithoutAMinority())
                {
                    var (errors, count) = groups.CountsOfClass(c);
                    if (errors < count) Log.ErrorSideNotAMinority(_logger, c, errors, count, count - errors);
                }
                break;
            case PartnerPolicy.SameClass:
                _pools = Enumerable.Range(0, groups.NumClasses)
                    .Select(y => Enumerable.Range(y * k, k).SelectMany(h => groups.MembersOf(h).ToArray()).ToArray()).ToArray();
                break;
            case PartnerPolicy.OtherSideAnyClass:
                _pools = [];
                _minorityPool = Enumerable.Range(0, groups.NumGroups).Where(groups.IsMinorityGroup).SelectMany(g => groups.MembersOf(g).ToArray()).ToArray();
                _majorityPool = Enumerable.Range(0, groups.NumGroups).Where(g => !groups.IsMinorityGroup(g)).SelectMany(g => groups.MembersOf(g).ToArray()).ToArray();
                break;
            default:
                throw new ArgumentOutOfRangeException(nameof(policy), Policy, "Unknown partner policy.");
        }
        _eligibleGroups = Enumerable.Range(0, groups.NumGroups).Select(g => Policy switch
        {
            PartnerPolicy.OtherGroupSameClass => Enumerable.Range(g / k * k, k).Where(h => h != g).ToArray(),
            PartnerPolicy.SameClass => Enumerable.Range(g / k * k, k).ToArray(),
            _ => Enumerable.Range(0, groups.NumGroups).Where(h => groups.IsMinorityGroup(h) != groups.IsMinorityGroup(g)).ToArray(),
        }).ToArray();
    }

    /// <summary>Where partners come from.</summary>
    public PartnerPolicy Policy { get; }

    /// <summary>Which sample alpha weights.</summary>
    public AlphaOrientation Orientation { get; }

    /// <summary>The groups partners are drawn from.</summary>
    public GroupAssignment Groups => _groups;

    /// <summary>The epoch the running statistics belong to (advanced by <see cref="EndEpoch()"/>).</summary>
    public int Epoch => _tally.Epoch;

    /// <summary>Throws unless the assignment indexes <paramref name="dataset"/> (same size and labels).</summary>
    public void EnsureMatches(IGroupDataset dataset) => _groups.EnsureMatches(dataset, nameof(dataset));

    /// <summary>Draws a partner for every row of <paramref name="batch"/> and counts mixed and unmixed samples.</summary>
    /// <exception cref="ArgumentException">The batch does not come from the assignment's dataset (index out of range, or, for CPU batches, labels that differ).</exception>
    public MixPlan DrawPartners(Batch batch) => DrawPartners(batch, PartnerSource.Dataset);

    /// <summary>
    /// Draws a partner for every row of <paramref name="batch"/> from <paramref name="source"/> (the training set, or the
    /// batch's own rows where it holds an eligible partner) and counts mixed and unmixed samples.
    /// </summary>
    /// <exception cref="ArgumentException">The batch does not come from the assignment's dataset (index out of range, or, for CPU batches, labels that differ).</exception>
    public MixPlan DrawPartners(Batch batch, PartnerSource source)
    {
        using var use = _use.Enter();
        ArgumentNullException.ThrowIfNull(batch);
        _groups.EnsureBatchLabels(batch, nameof(batch));
        return DrawPartners(batch.Indices, source);
    }

    /// <summary>Draws a partner for every index from the training set and counts mixed and unmixed samples.</summary>
    /// <param name="indices">Dataset indices of the batch rows, at least one.</param>
    /// <exception cref="ArgumentOutOfRangeException">An index is outside the assignment.</exception>
    public MixPlan DrawPartners(ReadOnlySpan<long> indices) => DrawPartners(indices, PartnerSource.Dataset);

    /// <summary>
    /// Draws a partner for every index from <paramref name="source"/> and counts mixed and unmixed samples. With
    /// <see cref="PartnerSource.Batch"/> (and <see cref="PartnerSource.Paired"/>, whose pairing is the epoch order's) a
    /// row's partner is drawn uniformly among the rows of <paramref name="indices"/> in its pool, falling back to the
    /// training set when there is none; the plan's <see cref="MixPlan.PartnerRows"/> and
    /// <see cref="MixPlan.OutsidePartnerIndices"/> say which is which.
    /// </summary>
    /// <param name="indices">Dataset indices of the batch rows, at least one.</param>
    /// <param name="source">Where partners are drawn from.</param>
    /// <exception cref="ArgumentOutOfRangeException">An index is outside the assignment, or the source is unknown.</exception>
    public MixPlan DrawPartners(ReadOnlySpan<long> indices, PartnerSource source)
    {
        using var use = _use.Enter();
        if (indices.Length == 0) throw new ArgumentException("The batch is empty.", nameof(indices));
        if (!Enum.IsDefined(source)) throw new ArgumentOutOfRangeException(nameof(source), source, "Unknown partner source.");
        var idx = indices.ToArray();
        _groups.EnsureBatchIndices(idx, nameof(indices));
        return source == PartnerSource.Dataset ? DrawFromDataset(idx) : DrawInBatch(idx);
    }

    /// <summary>
    /// The partner pool of training sample <paramref name="sample"/> under the policy (dataset indices; empty when its class
    /// has no member on another side), for orders that place partners in the batch (<see cref="PartnerSource.Paired"/>).
    /// Draws nothing and counts nothing.
    /// </summary>
    internal int[] PoolOfSample(long sample)
    {
        int g = _groups.Groups.Span[(int)sample], y = _groups.Labels.Span[(int)sample];
        return PoolOf(g, y, _groups.IsMinorityGroup(g));
    }

    private MixPlan DrawFromDataset(long[] idx)
    {
        var partners = new long[idx.Length];
        var mixed = new bool[idx.Length];
        var side = new bool[idx.Length];
        var groupIds = _groups.Groups.Span;
        var labels = _groups.Labels.Span;
        for (int i = 0; i < idx.Length; i++)
        {
            long s = idx[i];
            int g = groupIds[(int)s], y = labels[(int)s];
            bool minority = _groups.IsMinorityGroup(g);
            side[i] = minority;
            int[] pool = PoolOf(g, y, minority);
            if (pool.Length == 0)
            {
                partners[i] = s;
                _tally.Unmixed(y);
            }
            else
            {
                partners[i] = pool[_rng.Next(pool.Length)];
                mixed[i] = true;
                _tally.Mixed(y);
            }
        }
        return new MixPlan(idx, partners, mixed, side);
    }

    private MixPlan DrawInBatch(long[] idx)
    {
        var groupIds = _groups.Groups.Span;
        var labels = _groups.Labels.Span;
        // the batch's rows per group, in row order
        var rowsOf = new Dictionary<int, List<int>>();
        for (int i = 0; i < idx.Length; i++)
        {
            int g = groupIds[(int)idx[i]];
            if (!rowsOf.TryGetValue(g, out var list)) rowsOf[g] = list = [];
            list.Add(i);
        }
        var partners = new long[idx.Length];
        var rows = new int[idx.Length];
        var mixed = new bool[idx.Length];
        var side = new bool[idx.Length];
        for (int i = 0; i < idx.Length; i++)
        {
            long s = idx[i];
            int g = groupIds[(int)s], y = labels[(int)s];
            side[i] = _groups.IsMinorityGroup(g);
            // candidates: the batch's rows in the eligible groups, except the row itself (c-MixUp's pool holds its own group)
            int total = 0;
            bool selfEligible = false;
            foreach (int h in _eligibleGroups[g])
            {
                total += rowsOf.TryGetValue(h, out var l) ? l.Count : 0;
                selfEligible |= h == g;
            }
            if (selfEligible) total--;
            if (total > 0)
            {
                int r = _rng.Next(total);
                foreach (int h in _eligibleGroups[g])
                {
                    if (!rowsOf.TryGetValue(h, out var l)) continue;
                    int size = h == g ? l.Count - 1 : l.Count;
                    if (r < size)
                    {
                        // skip the row itself: rows of its own group above it shift down by one
                        int k = h == g && l.IndexOf(i) <= r ? r + 1 : r;
                        rows[i] = l[k];
                        break;
                    }
                    r -= size;
                }
                partners[i] = idx[rows[i]];
                mixed[i] = true;
                _tally.Mixed(y);
                continue;
            }
            // no eligible row in the batch: the training set's pool, as with PartnerSource.Dataset
            var pool = PoolOf(g, y, side[i]);
            if (pool.Length == 0)
            {
                partners[i] = s;
                rows[i] = i;
                _tally.Unmixed(y);
            }
            else
            {
                partners[i] = pool[_rng.Next(pool.Length)];
                rows[i] = -1;
                mixed[i] = true;
                _tally.Mixed(y);
            }
        }
        return new MixPlan(idx, partners, mixed, side, rows);
    }

    private int[] PoolOf(int group, int label, bool minority) => Policy switch
    {
        PartnerPolicy.OtherGroupSameClass => _pools[group],
        PartnerPolicy.SameClass => _pools[label],
        _ => minority ? _majorityPool : _minorityPool,
    };

    /// <summary>
    /// Per-row weights c of the batch rows, so that h_mix = c h_batch + (1 - c) h_partner: c = alpha on the side alpha
    /// weights and 1 - alpha on the other (c = alpha for every row under c-MixUp); 1 for unmixed rows. Returned on
    /// <paramref name="like"/>'s device and dtype, shape [B].
    /// </summary>
    /// <param name="plan">The batch's plan.</param>
    /// <param name="alpha">One alpha for the batch, in [0, 1].</param>
    /// <param name="like">A tensor on the target device with the target floating dtype (usually the inputs).</param>
    public Tensor Coefficients(MixPlan plan, double alpha, Tensor like)
    {
        using var use = _use.Enter();
        ArgumentNullException.ThrowIfNull(plan);
        MixCoefficients.CheckAlpha(alpha, nameof(alpha));
        _tally.Alpha(alpha);
        return MixCoefficients.Build(plan, _ => alpha, Orientation, Policy == PartnerPolicy.SameClass, like);
    }

    /// <summary>Per-row weights with one alpha per row (see <see cref="Coefficients(MixPlan, double, Tensor)"/>).</summary>
    /// <param name="plan">The batch's plan.</param>
    /// <param name="alphas">One alpha per row, each in [0, 1].</param>
    /// <param name="like">A tensor on the target device with the target floating dtype.</param>
    public Tensor Coefficients(MixPlan plan, double[] alphas, Tensor like)
    {
        using var use = _use.Enter();
        ArgumentNullException.ThrowIfNull(plan);
        ArgumentNullException.ThrowIfNull(alphas);
        if (alphas.Length != plan.Count)
            throw new ArgumentException($"Expected {plan.Count} alphas (one per row), got {alphas.Length}.", nameof(alphas));
        foreach (var a in alphas) MixCoefficients.CheckAlpha(a, nameof(alphas));
        foreach (var a in alphas) _tally.Alpha(a);
        return MixCoefficients.Build(plan, i => alphas[i], Orientation, Policy == PartnerPolicy.SameClass, like);
    }

    /// <summary>Input-level JM1: mixes <paramref name="batch"/>'s inputs with <paramref name="partners"/>' (fetched with the plan's indices) under one alpha.</summary>
    /// <returns>Mixed inputs, same shape, device and dtype as the batch's inputs; labels are the batch's.</returns>
    public Tensor Mix(Batch batch, Batch partners, MixPlan plan, double alpha)
    {
        using var use = _use.Enter();
        ArgumentNullException.ThrowIfNull(batch);
        ArgumentNullException.ThrowIfNull(partners);
        CheckPartners(batch, partners, plan);
        return Mix(batch.Inputs, partners.Inputs, plan, alpha);
    }

    /// <summary>Input-level JM1 on raw tensors: h_mix = c x + (1 - c) p with c from <see cref="Coefficients(MixPlan, double, Tensor)"/>.</summary>
    /// <param name="inputs">Batch inputs [B, ...], floating.</param>
    /// <param name="partnerInputs">Partner inputs, same shape, device and dtype.</param>
    /// <param name="plan">The batch's plan.</param>
    /// <param name="alpha">One alpha for the batch, in [0, 1].</param>
    public Tensor Mix(Tensor inputs, Tensor partnerInputs, MixPlan plan, double alpha)
    {
        using var use = _use.Enter();
        CheckInputs(inputs, partnerInputs, plan);
        using var scope = NewDisposeScope();
        var c = Coefficients(plan, alpha, inputs);
        return Interpolation.Lerp(inputs, partnerInputs, c).MoveToOuterDisposeScope();
    }

    /// <summary>Input-level mixing with one alpha per row.</summary>
    public Tensor Mix(Tensor inputs, Tensor partnerInputs, MixPlan plan, double[] alphas)
    {
        using var use = _use.Enter();
        CheckInputs(inputs, partnerInputs, plan);
        using var scope = NewDisposeScope();
        var c = Coefficients(plan, alphas, inputs);
        return Interpolation.Lerp(inputs, partnerInputs, c).MoveToOuterDisposeScope();
    }

    /// <summary>The running statistics of the current epoch.</summary>
    public MixingStatistics Statistics => _tally.Statistics;

    /// <summary>Closes the epoch: logs its summary (and a warning if samples went unmixed), returns its statistics and resets them.</summary>
    /// <exception cref="InvalidOperationException">No partners were drawn since the last call (a second call for the same epoch); the epoch does not advance.</exception>
    public MixingStatistics EndEpoch()
    {
        using (_use.Enter()) _tally.EnsureDrawn(nameof(ClassConditionalMixer));
        return EndEpoch(_tally.Epoch);
    }

    /// <summary>Closes <paramref name="epoch"/> (the owning method's epoch, which the statistics then carry).</summary>
    internal MixingStatistics EndEpoch(int epoch)
    {
        using var use = _use.Enter();
        _tally.Epoch = epoch;
        return _tally.EndEpoch(_logger);
    }

    /// <summary>
    /// Counts one alpha drawn for a batch of which this process mixes no row (data-parallel training: its part of a
    /// short last batch is empty), so that the statistics stay those of the global batch on every process.
    /// </summary>
    internal void CountAlpha(double alpha)
    {
        using var use = _use.Enter();
        MixCoefficients.CheckAlpha(alpha, nameof(alpha));
        _tally.Alpha(alpha);
    }

    /// <summary>The running statistics as numbers, for method checkpoints.</summary>
    internal MixingTally Tally => _tally;

    private static void CheckInputs(Tensor inputs, Tensor partnerInputs, MixPlan plan)
    {
        ArgumentNullException.ThrowIfNull(plan);
        Guard.MinDims(inputs, 1, nameof(inputs));
        Guard.Floating(inputs, nameof(inputs));
        Guard.NotNull(partnerInputs, nameof(partnerInputs));
        if (inputs.shape[0] != plan.Count)
            throw new ArgumentException($"'inputs' has {inputs.shape[0]} rows but the plan has {plan.Count}.", nameof(inputs));
        if (!inputs.shape.SequenceEqual(partnerInputs.shape))
            throw new ArgumentException($"'partnerInputs' has shape {Guard.Shape(partnerInputs)} but 'inputs' has {Guard.Shape(inputs)}; fetch the partners with the plan's indices.", nameof(partnerInputs));
        Guard.SameDevice(inputs, nameof(inputs), partnerInputs, nameof(partnerInputs));
        if (inputs.dtype != partnerInputs.dtype)
            throw new ArgumentException($"'partnerInputs' has dtype {partnerInputs.dtype} but 'inputs' has {inputs.dtype}.", nameof(partnerInputs));
    }

    private static void CheckPartners(Batch batch, Batch partners, MixPlan plan)
    {
        ArgumentNullException.ThrowIfNull(plan);
        if (!batch.Indices.AsSpan().SequenceEqual(plan.Indices.ToArray()))
            throw new ArgumentException("The batch is not the one the plan was drawn for (indices differ).", nameof(batch));
        if (!partners.Indices.AsSpan().SequenceEqual(plan.PartnerIndices))
            throw new ArgumentException($"The partner batch's indices differ from the plan's; fetch it with GetBatch(plan.PartnerIndices) (got {partners.Size} rows, plan has {plan.Count}).", nameof(partners));
    }
}
