using GroupRobust.Data;
using GroupRobust.Identification;
using GroupRobust.Internal;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using static TorchSharp.torch;
using GroupRobust.Mixing;

namespace GroupRobust.Methods;

/// <summary>
/// LISA's partner selection (Yao et al., ICML 2022, "Improving out-of-distribution robustness via selective
/// augmentation"): per batch, with probability p_sel every sample gets an intra-label partner (same label, another
/// domain), otherwise an intra-domain partner (same domain, another label). Domains are the values of a
/// <see cref="GroupAssignment"/> (group g = y K + k has domain k): with true groups this is the paper's method; with
/// inferred groups it is LISA without training group labels.
/// </summary>
/// <remarks>
/// <para>Partner draw: among the non-empty groups the strategy allows (intra-label: (y, k') with k' != k; intra-domain:
/// (y', k) with y' != y), one group uniformly, then one of its members uniformly. Under group-balanced batches this is the
/// reference's pairing (huaxiuyao/LISA train.py: one loader per group, groups (y0,a0)-(y0,a1) and (y1,a0)-(y1,a1) for
/// intra-label, (y0,a0)-(y1,a0) and (y0,a1)-(y1,a1) for intra-domain), generalised to any number of classes and domains
/// (the reference pairs by position and breaks the rule beyond 2 x 2 groups). A sample whose group has no allowed
/// partner group is paired with itself and counted as unmixed.</para>
/// <para>Weights are symmetric: row i's weight c_i is its own lambda (no minority side), h_mix = c h_batch + (1 - c)
/// h_partner, and the label is c onehot(y) + (1 - c) onehot(y_partner). Host-side draws only; not thread-safe: use from two threads at once throws <see cref="InvalidOperationException"/>.</para>
/// </remarks>
internal sealed class LisaMixer : IPartnerMixer, IResumable
{
    private readonly ExclusiveUse _use = new("LisaMixer");
    private readonly GroupAssignment _groups;
    private readonly Random _rng;
    private readonly ILogger _logger;
    private readonly MixingTally _tally;
    private readonly int[][] _intraLabel, _intraDomain;
    private long _intraLabelBatches, _intraDomainBatches;

    /// <summary>Creates the mixer.</summary>
    /// <param name="groups">The training split's groups; K = <see cref="GroupAssignment.GroupsPerClass"/> domains: at least 2 when p_sel &gt; 0 (intra-label), and at least 2 classes when p_sel &lt; 1 (intra-domain).</param>
    /// <param name="rng">Generator of the strategy choice and the partner draws.</param>
    /// <param name="selectionProbability">p_sel, the probability of intra-label mixing per batch, in [0, 1]; the reference default is 0.5.</param>
    /// <param name="logger">Receives per-epoch summaries and warnings about groups without partners.</param>
    /// <remarks>Internal: <see cref="LisaMethod"/> checked p_sel and that both strategies have partners (two domains, two classes).</remarks>
    public LisaMixer(GroupAssignment groups, Random rng, double selectionProbability = 0.5, ILogger? logger = null)
    {
        int k = groups.GroupsPerClass, c = groups.NumClasses;
        _groups = groups;
        _rng = rng;
        SelectionProbability = selectionProbability;
        _logger = logger ?? NullLogger.Instance;
        _tally = new MixingTally(c);
        var nonEmpty = Enumerable.Range(0, groups.NumGroups).Select(g => groups.MembersOf(g).Length > 0).ToArray();
        _intraLabel = Enumerable.Range(0, groups.NumGroups)
            .Select(g => Enumerable.Range(0, k).Select(v => g / k * k + v).Where(h => h != g && nonEmpty[h]).ToArray()).ToArray();
        _intraDomain = Enumerable.Range(0, groups.NumGroups)
            .Select(g => Enumerable.Range(0, c).Select(y => y * k + g % k).Where(h => h != g && nonEmpty[h]).ToArray()).ToArray();
        for (int g = 0; g < groups.NumGroups; g++)
        {
            if (!nonEmpty[g]) continue;
            if (_intraLabel[g].Length == 0 && selectionProbability > 0)
                _logger.LogWarning("LISA: group {Group} ({Count} samples) has no other domain of its label; its intra-label batches leave it unmixed.", g, groups.MembersOf(g).Length);
            if (_intraDomain[g].Length == 0 && selectionProbability < 1)
                _logger.LogWarning("LISA: group {Group} ({Count} samples) has no other label in its domain; its intra-domain batches leave it unmixed.", g, groups.MembersOf(g).Length);
        }
    }

    /// <summary>p_sel, the probability of intra-label mixing per batch.</summary>
    public double SelectionProbability { get; }

    /// <summary>The groups partners are drawn from.</summary>
    public GroupAssignment Groups => _groups;

    /// <summary>The strategy of the last batch; null before the first.</summary>
    public LisaStrategy? LastStrategy { get; private set; }

    /// <summary>Batches of the current epoch mixed intra-label and intra-domain.</summary>
    public (long IntraLabel, long IntraDomain) StrategyCounts => (_intraLabelBatches, _intraDomainBatches);

    /// <summary>Chooses the batch's strategy (intra-label with probability p_sel) and draws a partner for every row.</summary>
    /// <exception cref="ArgumentException">The batch does not come from the assignment's dataset.</exception>
    public MixPlan DrawPartners(Batch batch)
    {
        using var use = _use.Enter();
        _groups.EnsureBatchLabels(batch, nameof(batch));   // before the strategy draw, so a rejected batch leaves the generator untouched
        var strategy = _rng.NextDouble() < SelectionProbability ? LisaStrategy.IntraLabel : LisaStrategy.IntraDomain;
        return DrawPartners(batch.Indices, strategy);
    }

    /// <summary>Draws a partner under <paramref name="strategy"/> for every index.</summary>
    /// <param name="indices">Dataset indices of the batch rows, at least one.</param>
    /// <param name="strategy">The batch's strategy.</param>
    public MixPlan DrawPartners(ReadOnlySpan<long> indices, LisaStrategy strategy)
    {
        using var use = _use.Enter();
        var idx = indices.ToArray();
        var pools = strategy == LisaStrategy.IntraLabel ? _intraLabel : _intraDomain;
        var partners = new long[idx.Length];
        var mixed = new bool[idx.Length];
        var side = new bool[idx.Length];
        for (int i = 0; i < idx.Length; i++)
        {
            int g = _groups.GroupOf(idx[i]), y = _groups.LabelOf(idx[i]);
            side[i] = _groups.IsMinorityGroup(g);
            var allowed = pools[g];
            if (allowed.Length == 0)
            {
                partners[i] = idx[i];
                _tally.Unmixed(y);
                continue;
            }
            var members = _groups.MembersOf(allowed.Length == 1 ? allowed[0] : allowed[_rng.Next(allowed.Length)]);
            partners[i] = members[_rng.Next(members.Length)];
            mixed[i] = true;
            _tally.Mixed(y);
        }
        if (strategy == LisaStrategy.IntraLabel) _intraLabelBatches++;
        else _intraDomainBatches++;
        LastStrategy = strategy;
        return new MixPlan(idx, partners, mixed, side);
    }

    /// <summary>Per-row weights c [B] with one lambda for the batch: c = lambda for mixed rows, 1 for unmixed rows.</summary>
    /// <param name="plan">The batch's plan.</param>
    /// <param name="alpha">The batch's lambda, in [0, 1].</param>
    /// <param name="like">A tensor on the target device with the target floating dtype.</param>
    public Tensor Coefficients(MixPlan plan, double alpha, Tensor like)
    {
        using var use = _use.Enter();
        _tally.Alpha(alpha);
        return MixCoefficients.Build(plan, _ => alpha, AlphaOrientation.MajorityWeight, symmetric: true, like);
    }

    /// <summary>Per-row weights c [B] with one lambda per row (LISA draws lambda_i ~ Beta(2, 2) per sample); 1 for unmixed rows.</summary>
    /// <param name="plan">The batch's plan.</param>
    /// <param name="lambdas">One lambda per row, each in [0, 1].</param>
    /// <param name="like">A tensor on the target device with the target floating dtype.</param>
    public Tensor Coefficients(MixPlan plan, double[] lambdas, Tensor like)
    {
        using var use = _use.Enter();
        for (int i = 0; i < lambdas.Length; i++)
            if (plan.Mixed[i]) _tally.Alpha(lambdas[i]);
        return MixCoefficients.Build(plan, i => lambdas[i], AlphaOrientation.MajorityWeight, symmetric: true, like);
    }

    /// <summary>The running statistics of the current epoch.</summary>
    public MixingStatistics Statistics => _tally.Statistics;

    /// <summary>Closes the epoch: logs its summary and strategy counts, returns its statistics and resets them.</summary>
    public MixingStatistics EndEpoch()
    {
        using (_use.Enter()) _tally.EnsureDrawn("LisaMixer");
        return EndEpoch(_tally.Epoch);
    }

    /// <summary>Closes <paramref name="epoch"/> (the owning method's epoch, which the statistics then carry).</summary>
    public MixingStatistics EndEpoch(int epoch)
    {
        using var use = _use.Enter();
        _tally.Epoch = epoch;
        _logger.LogInformation("LISA epoch {Epoch}: {IntraLabel} intra-label and {IntraDomain} intra-domain batches.", _tally.Epoch, _intraLabelBatches, _intraDomainBatches);
        _intraLabelBatches = _intraDomainBatches = 0;
        return _tally.EndEpoch(_logger);
    }

    /// <inheritdoc />
    /// <remarks>The running statistics and the strategy counts, as "statistics".</remarks>
    public void WriteState(IDictionary<string, double[]> values, string prefix) => values[prefix + "statistics"] = [.. _tally.State(), _intraLabelBatches, _intraDomainBatches];

    /// <inheritdoc />
    public Action ReadState(IReadOnlyDictionary<string, double[]> values, string prefix)
    {
        var state = StateEntries.Get(values, prefix + "statistics", _tally.StateLength + 2, "this LISA mixer");
        return () =>
        {
            _tally.Restore(state[..^2]);
            _intraLabelBatches = (long)state[^2];
            _intraDomainBatches = (long)state[^1];
        };
    }
}
