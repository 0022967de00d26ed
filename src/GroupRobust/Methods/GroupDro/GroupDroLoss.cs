using System.Text.Json;
using GroupRobust.Internal;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using TorchSharp;
using static TorchSharp.torch;

namespace GroupRobust.Methods;

/// <summary>
/// Group DRO's online robust loss (Sagawa et al., 2020), computed exactly as the reference <c>LossComputer</c>:
/// per batch, the mean loss L_g of every group present (absent groups: 0), an exponentiated-gradient step on the group
/// weights q with the (optionally adjusted and normalised) detached losses, and the robust loss sum_g q_g L_g with the
/// updated q. Also: the EMA of group losses and the greedy bottom-k ("btl") variant.
/// </summary>
/// <remarks>
/// <para>Where the reference is fragile this class is not: q is updated in log space (log q &lt;- log_softmax(log q +
/// eta a), the same values without underflow); N_g = 0 with C_g &gt; 0 is rejected at construction instead of giving
/// infinity; a zero sum under <c>normalize_loss</c> leaves the losses unnormalised instead of giving NaN; in btl the
/// adjustment of a group with C_g = 0 is 0 even when N_g = 0.</para>
/// <para>The state (log q, the EMA and its initialisation flags, the step count) is saved and restored through
/// <see cref="IResumable"/> (<see cref="WriteState"/>, <see cref="ReadState"/>): a method's checkpoint carries it, and a
/// hand-written loop saves the same named arrays. Everything stays on the device of the losses (the state moves there on first use); a step
/// makes no host synchronisation except the eager range check of CPU group ids. Inputs are validated before any state
/// changes, so a failed step leaves q and the EMA unchanged.</para>
/// </remarks>
public sealed class GroupDroLoss : IGroupLoss
{
    private const string LogQName = "log_q", EmaName = "exp_avg_loss", InitializedName = "exp_avg_initialized", StepsName = "steps";
    private const string GroupCountsName = "group_counts";
    private const string AdjustmentName = "adjustment", FractionName = "group_fraction", SkippedName = "skipped_steps";
    private static readonly string[] PersistentBuffers = [LogQName, EmaName, InitializedName, StepsName];
    private readonly GroupDroOptions _options;
    private readonly long[] _groupCounts;
    private readonly bool _adjust;
    private Tensor? _lastLoss, _lastCount, _lastWeights, _lastAcc;
    private readonly ExclusiveUse _use = new("GroupDroLoss");
    private readonly Dictionary<string, Tensor> _state = new(StringComparer.Ordinal);   // every tensor of the state, on one device

    /// <summary>Creates the loss.</summary>
    /// <param name="trainGroupCounts">N_g: training-set count of every group (length G &gt;= 1), e.g. <see cref="Identification.GroupAssignment.GroupCounts"/>.</param>
    /// <param name="options">Step size, adjustment, normalisation, EMA and btl settings; reference defaults when null.</param>
    /// <param name="logger">Receives configuration warnings; <see cref="NullLogger"/> by default.</param>
    /// <param name="device">Device of the initial state (CPU by default; it follows the inputs on first use).</param>
    /// <exception cref="ArgumentException">No groups, a negative count, or an adjustment on a group with N_g = 0.</exception>
    public GroupDroLoss(IReadOnlyList<long> trainGroupCounts, GroupDroOptions? options = null, ILogger? logger = null, Device? device = null)
    {
        ArgumentNullException.ThrowIfNull(trainGroupCounts);
        if (trainGroupCounts.Count == 0) throw new ArgumentException("At least one group is needed.", nameof(trainGroupCounts));
        for (int g = 0; g < trainGroupCounts.Count; g++)
            if (trainGroupCounts[g] < 0)
                throw new ArgumentException($"Group {g} has a negative training count {trainGroupCounts[g]}.", nameof(trainGroupCounts));
        long total = trainGroupCounts.Sum();
        if (total == 0) throw new ArgumentException("All training group counts are 0.", nameof(trainGroupCounts));
        _options = options ?? new GroupDroOptions();
        NumGroups = trainGroupCounts.Count;
        _options.Validate(NumGroups);
        var log = logger ?? NullLogger.Instance;
        _groupCounts = trainGroupCounts.ToArray();
        var adj = _options.AdjustmentsFor(NumGroups);
        for (int g = 0; g < NumGroups; g++)
            if (adj[g] > 0 && _groupCounts[g] == 0)
                throw new ArgumentException($"Group {g} has a generalization adjustment {adj[g]} but no training samples: C / sqrt(N_g) would be infinite. Set its adjustment to 0 or drop the group.", nameof(options));
        _adjust = adj.All(c => c > 0);
        if (!_adjust && adj.Any(c => c > 0) && !_options.Btl)
            Log.GroupDroWarning(log, "the generalization adjustment is applied only when every group's C is > 0 (as in the reference); some are 0, so it is off.");
        var dev = device ?? CPU;
        using var scope = NewDisposeScope();
        _state[LogQName] = torch.full(NumGroups, -Math.Log(NumGroups), ScalarType.Float64, dev).DetachFromDisposeScope();
        _state[EmaName] = torch.zeros(NumGroups, ScalarType.Float64, dev).DetachFromDisposeScope();
        _state[InitializedName] = torch.zeros(NumGroups, ScalarType.Bool, dev).DetachFromDisposeScope();
        _state[StepsName] = torch.zeros(1, ScalarType.Int64, dev).DetachFromDisposeScope();
        _state[SkippedName] = torch.zeros(1, ScalarType.Int64, dev).DetachFromDisposeScope();
        _state[AdjustmentName] = torch.tensor(adj.Select((c, g) => c > 0 ? c / Math.Sqrt(_groupCounts[g]) : 0.0).ToArray(), ScalarType.Float64, dev).DetachFromDisposeScope();
        _state[FractionName] = torch.tensor(_groupCounts.Select(n => (double)n / total).ToArray(), ScalarType.Float64, dev).DetachFromDisposeScope();
    }

    /// <summary>Creates the loss over the groups of <paramref name="groups"/> (N_g from its group counts).</summary>
    /// <param name="groups">The training split's groups: true (<see cref="Identification.GroupAssignment.FromTrueGroups"/>) or inferred by any identifier.</param>
    /// <param name="options">Reference defaults when null.</param>
    /// <param name="logger">Receives configuration warnings.</param>
    /// <param name="device">Device of the initial state.</param>
    public GroupDroLoss(Identification.GroupAssignment groups, GroupDroOptions? options = null, ILogger? logger = null, Device? device = null)
        : this((groups ?? throw new ArgumentNullException(nameof(groups))).GroupCounts(), options, logger, device)
    {
    }

    /// <summary>Number of groups G.</summary>
    public int NumGroups { get; }

    /// <summary>The options in use.</summary>
    public GroupDroOptions Options => _options;

    /// <summary>The training group counts N_g the loss was made with.</summary>
    public IReadOnlyList<long> GroupCounts => _groupCounts;

    /// <summary>
    /// Tests only: behave as on an accelerator, where the eager range and finiteness checks do not run (they would need a
    /// device synchronisation), so the device-side guard against non-finite group losses can be exercised on the CPU.
    /// </summary>
    internal bool SkipEagerChecks { get; set; }

    /// <summary>
    /// For data-parallel training (GroupRobust.Distributed sets it): sums a float64 tensor [2G] (the batch's group counts,
    /// then its group loss sums) over every process of the job and returns the total, so that q and the EMA follow the
    /// global batch and stay identical on every rank; the returned loss is then this rank's share of the global robust
    /// loss, scaled to the form that row-weighted gradient averaging expects. With it set, a process whose part of the
    /// global batch is empty passes an empty batch (it still takes part in the sum). Null (the default) for one process.
    /// </summary>
    internal Func<Tensor, Tensor>? CrossProcessSum { get; set; }

    /// <summary>Steps taken (updating calls of <see cref="Forward"/>); reading it synchronises with the state's device.</summary>
    public long Steps
    {
        get
        {
            using var use = _use.Enter();
            using var scope = NewDisposeScope();
            return _state[StepsName].cpu().ToInt64();
        }
    }

    /// <summary>
    /// Updates skipped because a batch's group losses were not finite (read it at a natural synchronisation point, such
    /// as the end of an epoch); reading it synchronises with the state's device.
    /// </summary>
    public long SkippedSteps
    {
        get
        {
            using var use = _use.Enter();
            using var scope = NewDisposeScope();
            return _state[SkippedName].cpu().ToInt64();
        }
    }

    /// <summary>
    /// The robust loss of one batch; with <paramref name="update"/> (default) also advances q and the EMA. Group sums
    /// accumulate in float32 or wider whatever the loss dtype; the returned value has the losses' dtype. A batch whose
    /// group losses are not finite (only possible where the eager finiteness check does not run, on accelerators) leaves
    /// q and the EMA unchanged and is counted in <see cref="SkippedSteps"/>.
    /// </summary>
    /// <param name="perSampleLosses">Losses [B] with reduction none (any loss), floating, finite.</param>
    /// <param name="groups">Group ids [B] in [0, G), integer, on the same device.</param>
    /// <param name="logits">Optional logits [B, C] for per-group accuracy statistics.</param>
    /// <param name="labels">Labels [B], required with <paramref name="logits"/>.</param>
    /// <param name="update">False computes the loss with the current weights and leaves everything unchanged: q, the EMA and the last batch's statistics (validation, SAM's second pass).</param>
    /// <returns>A scalar tensor to backpropagate, on the losses' device and dtype.</returns>
    public Tensor Forward(Tensor perSampleLosses, Tensor groups, Tensor? logits = null, Tensor? labels = null, bool update = true)
    {
        using var use = _use.Enter();
        Guard.Dims(perSampleLosses, 1, nameof(perSampleLosses));
        Guard.Floating(perSampleLosses, nameof(perSampleLosses));
        Guard.Dims(groups, 1, nameof(groups));
        Guard.Integral(groups, nameof(groups));
        Guard.Length(groups, perSampleLosses.shape[0], nameof(groups), nameof(perSampleLosses));
        Guard.SameDevice(perSampleLosses, nameof(perSampleLosses), groups, nameof(groups));
        if (perSampleLosses.shape[0] == 0 && CrossProcessSum is null)
            throw new ArgumentException("The batch is empty (only a process of a data-parallel job, whose part of a short last batch has no rows, may pass an empty batch).", nameof(perSampleLosses));
        if (logits is not null)
        {
            Guard.Dims(logits, 2, nameof(logits));
            Guard.Length(logits, perSampleLosses.shape[0], nameof(logits), nameof(perSampleLosses));
            Guard.SameDevice(perSampleLosses, nameof(perSampleLosses), logits, nameof(logits));
            if (labels is null) throw new ArgumentNullException(nameof(labels), "'labels' are needed with 'logits'.");
            Guard.Dims(labels, 1, nameof(labels));
            Guard.Integral(labels, nameof(labels));
            Guard.Length(labels, perSampleLosses.shape[0], nameof(labels), nameof(perSampleLosses));
            Guard.SameDevice(perSampleLosses, nameof(perSampleLosses), labels, nameof(labels));
        }
        if (!SkipEagerChecks)
        {
            Guard.IndexRange(groups, NumGroups, nameof(groups), "group id");
            Guard.Finite(perSampleLosses, nameof(perSampleLosses));
        }
        // the state follows the inputs' device; the meta device holds no data, so moving q there would lose it
        if (perSampleLosses.device_type == DeviceType.META)
            throw new ArgumentException("'perSampleLosses' is on the meta device, which holds no data; GroupDRO's weights cannot live there.", nameof(perSampleLosses));
        EnsureDevice(perSampleLosses.device);

        using var scope = NewDisposeScope();
        Tensor logqState = _state[LogQName], emaState = _state[EmaName], initState = _state[InitializedName];
        Tensor adjTerm = _state[AdjustmentName];
        var dtype = perSampleLosses.dtype;
        // group sums and means accumulate in float32 or wider whatever the loss dtype (fp16 / bf16 sums lose the mean)
        var accum = dtype == ScalarType.Float64 ? ScalarType.Float64 : ScalarType.Float32;
        var g = groups.to(ScalarType.Int64);
        var localCount = torch.zeros(NumGroups, ScalarType.Float64, g.device).scatter_add(0, g, torch.ones(g.shape[0], ScalarType.Float64, g.device));
        var sums = torch.zeros(NumGroups, accum, g.device).scatter_add(0, g, perSampleLosses.to(accum));
        var detachedSums = torch.zeros(NumGroups, ScalarType.Float64, g.device).scatter_add(0, g, perSampleLosses.detach().to(ScalarType.Float64));
        var count = localCount;
        if (CrossProcessSum is { } reduce)
        {
            // data-parallel: the group counts and loss sums of the global batch, so q and the EMA are the same on every rank
            var joint = reduce(torch.cat([localCount, detachedSums]));
            count = joint.narrow(0, 0, NumGroups);
            detachedSums = joint.narrow(0, NumGroups, NumGroups);
        }
        var denom = count + count.eq(0).to(ScalarType.Float64);
        var groupLoss = sums / denom.to(accum);                     // L_g (this rank's share of it when data-parallel), differentiable
        // the statistics that drive q and the EMA: float64 group means of the detached losses (no float32 overflow)
        var detached = detachedSums / denom;
        // a non-finite loss (possible on accelerators, where the eager check above does not run) must not poison q or the
        // EMA: the update is skipped on the device, without a host synchronisation, and counted in "skipped_steps"
        var finite = detached.isfinite().all();
        var safe = torch.where(detached.isfinite(), detached, torch.zeros_like(detached));

        Tensor ema = emaState, initialized = initState, logq = logqState;
        if (update)
        {
            var present = count.gt(0);
            var prev = (1 - _options.Gamma * present.to(ScalarType.Float64)) * initState.to(ScalarType.Float64);
            ema = torch.where(finite, emaState * prev + safe * (1 - prev), emaState);
            initialized = torch.where(finite, initState.logical_or(present), initState);
        }

        Tensor robust, weights;
        if (_options.Btl)
        {
            weights = BtlWeights(ema + adjTerm);
            robust = groupLoss.dot(weights.to(accum)).to(dtype);
        }
        else
        {
            if (update)
            {
                var a = safe;
                if (_adjust) a = a + adjTerm;
                if (_options.NormalizeLoss)
                {
                    var s = a.sum();
                    a = torch.where(s.gt(0), a / s, a);
                }
                logq = torch.where(finite, (logqState + _options.StepSize * a).log_softmax(0), logqState);
            }
            weights = logq.exp();
            robust = groupLoss.dot(weights.to(accum));
            if (_options.ReferenceLossValue && _adjust) robust = robust + adjTerm.dot(weights).to(accum);
            robust = robust.to(dtype);
        }

        if (CrossProcessSum is not null)
        {
            // this rank's share of the global robust loss, in the "mean over this rank's rows" form that
            // GroupRobust.Distributed's gradient averaging weights by rows: the averaged gradients are the global loss's
            robust = robust * (count.sum() / localCount.sum().clamp_min(1)).to(robust.dtype);
        }

        Tensor? acc = null;
        if (logits is not null)
        {
            var correct = logits.detach().argmax(1).eq(labels!.to(ScalarType.Int64)).to(ScalarType.Float64);
            acc = torch.zeros(NumGroups, ScalarType.Float64, g.device).scatter_add(0, g, correct) / (localCount + localCount.eq(0).to(ScalarType.Float64));
        }

        if (update)
        {
            using var noGrad = torch.no_grad();
            emaState.copy_(ema);
            initState.copy_(initialized);
            logqState.copy_(logq);
            _state[StepsName].add_(1);
            _state[SkippedName].add_(finite.logical_not().to(ScalarType.Int64));
            Replace(ref _lastLoss, detached);
            Replace(ref _lastCount, count);
            Replace(ref _lastWeights, weights.detach());
            if (acc is not null) Replace(ref _lastAcc, acc);
        }
        return robust.MoveToOuterDisposeScope();
    }

    /// <inheritdoc />
    public string Name => _options.Btl ? "GroupDRO (btl)" : "GroupDRO";

    /// <inheritdoc />
    /// <remarks>The same as <see cref="Forward"/> without accuracy statistics.</remarks>
    public Tensor Loss(Tensor perSampleLosses, Tensor groups, bool update = true) => Forward(perSampleLosses, groups, update: update);

    /// <inheritdoc />
    /// <remarks>The weights of the last batch (q, or btl's weights), as <see cref="GroupDroSnapshot.LastWeights"/>.</remarks>
    public IReadOnlyList<double> Weights() => Snapshot().LastWeights;

    /// <summary>Host copies of q, the EMA and the last batch's statistics (one device synchronisation).</summary>
    public GroupDroSnapshot Snapshot()
    {
        using var use = _use.Enter();
        using var scope = NewDisposeScope();
        var zeros = new double[NumGroups];
        return new GroupDroSnapshot(ToHost(_state[LogQName].exp()), ToHost(_state[EmaName]),
            _lastLoss is null ? zeros : ToHost(_lastLoss), _lastCount is null ? zeros : ToHost(_lastCount),
            _lastAcc is null ? null : ToHost(_lastAcc), _lastWeights is null ? ToHost(_state[LogQName].exp()) : ToHost(_lastWeights), Steps);
    }

    /// <inheritdoc />
    /// <remarks>
    /// log q, the EMA of group losses and its initialisation flags, the step count, and the training group counts the
    /// loss was made with (so that the state of another run is refused), as host arrays.
    /// </remarks>
    public void WriteState(IDictionary<string, double[]> values, string prefix)
    {
        using var use = _use.Enter();
        using var scope = NewDisposeScope();
        foreach (var name in PersistentBuffers)
            values[prefix + name] = _state[name].to(ScalarType.Float64).cpu().data<double>().ToArray();
        values[prefix + GroupCountsName] = _groupCounts.Select(n => (double)n).ToArray();
    }

    /// <inheritdoc />
    public Action ReadState(IReadOnlyDictionary<string, double[]> values, string prefix)
    {
        using var use = _use.Enter();
        double[] Get(string name, int length) => StateEntries.Get(values, prefix + name, length, $"this GroupDRO loss ({NumGroups} groups)");
        if (!values.TryGetValue(prefix + GroupCountsName, out var counts))
            throw new ArgumentException($"The state has no '{prefix}{GroupCountsName}' entry.", "state");
        if (!counts.SequenceEqual(_groupCounts.Select(n => (double)n)))
            throw new ArgumentException($"The GroupDRO state was made with training group counts [{string.Join(", ", counts)}], this loss has [{string.Join(", ", _groupCounts)}].", "state");
        var logq = Get(LogQName, NumGroups);
        var ema = Get(EmaName, NumGroups);
        var init = Get(InitializedName, NumGroups);
        var steps = Get(StepsName, 1);
        if (logq.Any(v => double.IsNaN(v) || double.IsPositiveInfinity(v)) || ema.Any(v => !double.IsFinite(v)))
            throw new ArgumentException("The GroupDRO state holds non-finite values.", "state");
        if (Math.Abs(logq.Sum(Math.Exp) - 1) > 1e-6)
            throw new ArgumentException($"The GroupDRO state's exp(log q) sums to {logq.Sum(Math.Exp)}, not 1.", "state");
        if (init.Any(v => v is not (0 or 1))) throw new ArgumentException("The GroupDRO state's initialisation flags must be 0 or 1.", "state");
        if (!(steps[0] >= 0)) throw new ArgumentException($"The GroupDRO state has {steps[0]} steps; must be >= 0.", "state");
        return () =>
        {
            using var scope = NewDisposeScope();
            using var noGrad = torch.no_grad();
            foreach (var (name, v) in new[] { (LogQName, logq), (EmaName, ema), (InitializedName, init), (StepsName, steps) })
            {
                var buffer = _state[name];
                buffer.copy_(torch.tensor(v, ScalarType.Float64).reshape(buffer.shape).to(buffer.dtype, buffer.device));
            }
        };
    }

    /// <summary>Frees the state; later calls throw <see cref="ObjectDisposedException"/>.</summary>
    /// <exception cref="InvalidOperationException">Another thread is inside a call of the loss (its tensors are in use).</exception>
    public void Dispose() => _use.Dispose(() =>
    {
        foreach (var t in _state.Values) t.Dispose();
        _state.Clear();
        _lastLoss?.Dispose();
        _lastCount?.Dispose();
        _lastWeights?.Dispose();
        _lastAcc?.Dispose();
        _lastLoss = _lastCount = _lastWeights = _lastAcc = null;
    });

    /// <summary>Greedy bottom-k weights: groups sorted by <paramref name="reference"/> descending get f_g / alpha while the cumulative mass stays within alpha, the next group the remainder, then w = m f + (1 - m) w.</summary>
    private Tensor BtlWeights(Tensor reference)
    {
        var order = reference.argsort(descending: true);
        var sortedFrac = _state[FractionName].index_select(0, order);
        var mask = sortedFrac.cumsum(0).le(_options.BtlAlpha);
        var w = mask.to(ScalarType.Float64) * sortedFrac / _options.BtlAlpha;
        var last = mask.to(ScalarType.Int64).sum().clamp_max(NumGroups - 1).reshape(1);
        var lastValue = 1 - (w.sum() - w.index_select(0, last));
        w = w.index_put_(lastValue, last);
        w = sortedFrac * _options.MinVarWeight + w * (1 - _options.MinVarWeight);
        return torch.zeros_like(w).scatter_(0, order, w);
    }

    /// <summary>Moves the state to <paramref name="device"/> on first use there (the module's own <c>to</c> moves every buffer).</summary>
    private void EnsureDevice(Device device)
    {
        var logq = _state[LogQName];
        if (logq.device_type == device.type && logq.device_index == device.index) return;
        foreach (var name in _state.Keys.ToList())
        {
            var moved = _state[name].to(device).DetachFromDisposeScope();
            _state[name].Dispose();
            _state[name] = moved;
        }
        _lastLoss?.Dispose();
        _lastCount?.Dispose();
        _lastWeights?.Dispose();
        _lastAcc?.Dispose();
        _lastLoss = _lastCount = _lastWeights = _lastAcc = null;
    }

    private static void Replace(ref Tensor? field, Tensor value)
    {
        if (ReferenceEquals(field, value)) return;
        var old = field;
        field = value.DetachFromDisposeScope();
        old?.Dispose();
    }

    private static double[] ToHost(Tensor t)
    {
        using var scope = NewDisposeScope();
        return t.to(ScalarType.Float64).cpu().data<double>().ToArray();
    }
}
