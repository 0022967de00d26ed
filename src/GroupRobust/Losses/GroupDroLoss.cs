using System.Text.Json;
using GroupRobust.Internal;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using TorchSharp;
using static TorchSharp.torch;

namespace GroupRobust.Losses;

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
/// <para>Everything stays on the device of the losses (the state moves there on first use); a step makes no host
/// synchronisation except the eager range check of CPU group ids. Inputs are validated before any state changes, so a
/// failed step leaves q and the EMA unchanged.</para>
/// </remarks>
public sealed class GroupDroLoss : IDisposable
{
    private readonly GroupDroOptions _options;
    private readonly long[] _groupCounts;
    private readonly bool _adjust;
    private readonly ILogger _logger;
    private Tensor _logq, _ema, _initialized, _adjTerm, _frac;
    private Tensor _lastLoss, _lastCount, _lastWeights;
    private Tensor? _lastAcc;

    /// <summary>Creates the loss.</summary>
    /// <param name="trainGroupCounts">N_g: training-set count of every group (length G &gt;= 1).</param>
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
        _logger = logger ?? NullLogger.Instance;
        _groupCounts = trainGroupCounts.ToArray();
        var adj = _options.AdjustmentsFor(NumGroups);
        for (int g = 0; g < NumGroups; g++)
            if (adj[g] > 0 && _groupCounts[g] == 0)
                throw new ArgumentException($"Group {g} has a generalization adjustment {adj[g]} but no training samples: C / sqrt(N_g) would be infinite. Set its adjustment to 0 or drop the group.", nameof(options));
        _adjust = adj.All(c => c > 0);
        if (!_adjust && adj.Any(c => c > 0) && !_options.Btl)
            Log.GroupDroWarning(_logger, "the generalization adjustment is applied only when every group's C is > 0 (as in the reference); some are 0, so it is off.");
        var dev = device ?? CPU;
        _logq = torch.full(NumGroups, -Math.Log(NumGroups), ScalarType.Float64, dev).DetachFromDisposeScope();
        _ema = torch.zeros(NumGroups, ScalarType.Float64, dev).DetachFromDisposeScope();
        _initialized = torch.zeros(NumGroups, ScalarType.Bool, dev).DetachFromDisposeScope();
        _adjTerm = torch.tensor(adj.Select((c, g) => c > 0 ? c / Math.Sqrt(_groupCounts[g]) : 0.0).ToArray(), ScalarType.Float64, dev).DetachFromDisposeScope();
        _frac = torch.tensor(_groupCounts.Select(n => (double)n / total).ToArray(), ScalarType.Float64, dev).DetachFromDisposeScope();
        _lastLoss = torch.zeros(NumGroups, ScalarType.Float64, dev).DetachFromDisposeScope();
        _lastCount = torch.zeros(NumGroups, ScalarType.Float64, dev).DetachFromDisposeScope();
        _lastWeights = _logq.exp().DetachFromDisposeScope();
    }

    /// <summary>Number of groups G.</summary>
    public int NumGroups { get; }

    /// <summary>The options in use.</summary>
    public GroupDroOptions Options => _options;

    /// <summary>Steps taken (updating calls of <see cref="Forward"/>).</summary>
    public long Steps { get; private set; }

    /// <summary>The group weights q (a new float64 tensor on the state's device, owned by the caller).</summary>
    public Tensor Q => _logq.exp();

    /// <summary>The EMA of the group losses (a new tensor owned by the caller).</summary>
    public Tensor ExpAvgLoss => _ema.clone();

    /// <summary>The last batch's per-group mean losses (detached copy).</summary>
    public Tensor LastGroupLoss => _lastLoss.clone();

    /// <summary>The last batch's per-group counts.</summary>
    public Tensor LastGroupCount => _lastCount.clone();

    /// <summary>The weights of the last robust loss (q, or btl's weights).</summary>
    public Tensor LastWeights => _lastWeights.clone();

    /// <summary>
    /// The robust loss of one batch; with <paramref name="update"/> (default) also advances q and the EMA.
    /// </summary>
    /// <param name="perSampleLosses">Losses [B] with reduction none (any loss), floating, finite.</param>
    /// <param name="groups">Group ids [B] in [0, G), integer, on the same device.</param>
    /// <param name="logits">Optional logits [B, C] for per-group accuracy statistics.</param>
    /// <param name="labels">Labels [B], required with <paramref name="logits"/>.</param>
    /// <param name="update">False computes the loss with the current weights and leaves the state unchanged (e.g. validation).</param>
    /// <returns>A scalar tensor to backpropagate, on the losses' device and dtype.</returns>
    public Tensor Forward(Tensor perSampleLosses, Tensor groups, Tensor? logits = null, Tensor? labels = null, bool update = true)
    {
        Guard.Dims(perSampleLosses, 1, nameof(perSampleLosses));
        Guard.Floating(perSampleLosses, nameof(perSampleLosses));
        Guard.Dims(groups, 1, nameof(groups));
        Guard.Integral(groups, nameof(groups));
        Guard.Length(groups, perSampleLosses.shape[0], nameof(groups), nameof(perSampleLosses));
        Guard.SameDevice(perSampleLosses, nameof(perSampleLosses), groups, nameof(groups));
        if (perSampleLosses.shape[0] == 0) throw new ArgumentException("The batch is empty.", nameof(perSampleLosses));
        if (logits is not null)
        {
            Guard.Dims(logits, 2, nameof(logits));
            Guard.Length(logits, perSampleLosses.shape[0], nameof(logits), nameof(perSampleLosses));
            Guard.SameDevice(perSampleLosses, nameof(perSampleLosses), logits, nameof(logits));
            if (labels is null) throw new ArgumentNullException(nameof(labels), "'labels' are needed with 'logits'.");
            Guard.Dims(labels, 1, nameof(labels));
            Guard.Length(labels, perSampleLosses.shape[0], nameof(labels), nameof(perSampleLosses));
        }
        Guard.IndexRange(groups, NumGroups, nameof(groups), "group id");
        Guard.Finite(perSampleLosses, nameof(perSampleLosses));
        EnsureDevice(perSampleLosses.device);

        using var scope = NewDisposeScope();
        var dtype = perSampleLosses.dtype;
        var g = groups.to(ScalarType.Int64);
        var count = torch.zeros(NumGroups, ScalarType.Float64, g.device).scatter_add(0, g, torch.ones(g.shape[0], ScalarType.Float64, g.device));
        var sums = torch.zeros(NumGroups, dtype, g.device).scatter_add(0, g, perSampleLosses);
        var denom = count + count.eq(0).to(ScalarType.Float64);
        var groupLoss = sums / denom.to(dtype);                     // L_g, differentiable
        var detached = groupLoss.detach().to(ScalarType.Float64);

        Tensor ema = _ema, initialized = _initialized, logq = _logq;
        if (update)
        {
            var present = count.gt(0);
            var prev = (1 - _options.Gamma * present.to(ScalarType.Float64)) * initialized.to(ScalarType.Float64);
            ema = _ema * prev + detached * (1 - prev);
            initialized = _initialized.logical_or(present);
        }

        Tensor robust, weights;
        if (_options.Btl)
        {
            weights = BtlWeights(ema + _adjTerm);
            robust = groupLoss.dot(weights.to(dtype));
        }
        else
        {
            if (update)
            {
                var a = detached;
                if (_adjust) a = a + _adjTerm;
                if (_options.NormalizeLoss)
                {
                    var s = a.sum();
                    a = torch.where(s.gt(0), a / s, a);
                }
                logq = (_logq + _options.StepSize * a).log_softmax(0);
            }
            weights = logq.exp();
            robust = groupLoss.dot(weights.to(dtype));
            if (_options.ReferenceLossValue && _adjust) robust = robust + _adjTerm.dot(weights).to(dtype);
        }

        Tensor? acc = null;
        if (logits is not null)
        {
            var correct = logits.detach().argmax(1).eq(labels!.to(ScalarType.Int64)).to(ScalarType.Float64);
            acc = torch.zeros(NumGroups, ScalarType.Float64, g.device).scatter_add(0, g, correct) / denom;
        }

        if (update)
        {
            Replace(ref _ema, ema);
            Replace(ref _initialized, initialized);
            Replace(ref _logq, logq);
            Steps++;
        }
        Replace(ref _lastLoss, detached);
        Replace(ref _lastCount, count);
        Replace(ref _lastWeights, weights.detach());
        if (acc is not null)
        {
            _lastAcc?.Dispose();
            _lastAcc = acc.DetachFromDisposeScope();
        }
        return robust.MoveToOuterDisposeScope();
    }

    /// <summary>Host copies of q, the EMA and the last batch's statistics (one device synchronisation).</summary>
    public GroupDroSnapshot Snapshot()
    {
        using var scope = NewDisposeScope();
        return new GroupDroSnapshot(ToHost(_logq.exp()), ToHost(_ema), ToHost(_lastLoss), ToHost(_lastCount),
            _lastAcc is null ? null : ToHost(_lastAcc), ToHost(_lastWeights), Steps);
    }

    /// <summary>The resumable state: log q, the EMA and its initialisation flags, the step count.</summary>
    public GroupDroState GetState()
    {
        using var scope = NewDisposeScope();
        return new GroupDroState
        {
            LogQ = ToHost(_logq),
            ExpAvgLoss = ToHost(_ema),
            ExpAvgInitialized = _initialized.cpu().data<bool>().ToArray(),
            Steps = Steps,
            GroupCounts = _groupCounts.ToArray(),
        };
    }

    /// <summary>Restores a state from <see cref="GetState"/>; training then continues exactly as if uninterrupted.</summary>
    /// <exception cref="ArgumentException">The state has another number of groups or other training group counts, or invalid values.</exception>
    public void SetState(GroupDroState state)
    {
        ArgumentNullException.ThrowIfNull(state);
        if (state.Version != 1) throw new ArgumentException($"Unknown GroupDRO state version {state.Version}; expected 1.", nameof(state));
        if (state.LogQ is null || state.ExpAvgLoss is null || state.ExpAvgInitialized is null || state.GroupCounts is null)
            throw new ArgumentException("The GroupDRO state is incomplete.", nameof(state));
        if (state.LogQ.Length != NumGroups || state.ExpAvgLoss.Length != NumGroups || state.ExpAvgInitialized.Length != NumGroups)
            throw new ArgumentException($"The state has {state.LogQ.Length} groups; this loss has {NumGroups}.", nameof(state));
        if (!state.GroupCounts.SequenceEqual(_groupCounts))
            throw new ArgumentException($"The state was made with training group counts [{string.Join(", ", state.GroupCounts)}], this loss has [{string.Join(", ", _groupCounts)}].", nameof(state));
        if (state.LogQ.Any(v => double.IsNaN(v) || double.IsPositiveInfinity(v)) || state.ExpAvgLoss.Any(v => !double.IsFinite(v)))
            throw new ArgumentException("The state holds non-finite values.", nameof(state));
        if (Math.Abs(state.LogQ.Sum(Math.Exp) - 1) > 1e-6)
            throw new ArgumentException($"exp(LogQ) sums to {state.LogQ.Sum(Math.Exp)}, not 1.", nameof(state));
        if (state.Steps < 0) throw new ArgumentException($"Steps is {state.Steps}; must be >= 0.", nameof(state));
        var dev = _logq.device;
        Replace(ref _logq, torch.tensor(state.LogQ, ScalarType.Float64, dev));
        Replace(ref _ema, torch.tensor(state.ExpAvgLoss, ScalarType.Float64, dev));
        Replace(ref _initialized, torch.tensor(state.ExpAvgInitialized, device: dev));
        Steps = state.Steps;
    }

    /// <summary>Writes <see cref="GetState"/> as JSON, atomically (temporary file, then rename).</summary>
    public void Save(string path)
    {
        var json = JsonSerializer.SerializeToUtf8Bytes(GetState(), new JsonSerializerOptions { WriteIndented = true });
        AtomicFile.Write(path, stream => stream.Write(json));
    }

    /// <summary>Restores the state written by <see cref="Save"/>.</summary>
    /// <exception cref="FormatException">The file is not a valid GroupDRO state (the message names the file).</exception>
    public void Load(string path)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        GroupDroState? state;
        try
        {
            state = JsonSerializer.Deserialize<GroupDroState>(File.ReadAllText(path));
        }
        catch (JsonException ex)
        {
            throw new FormatException($"{path}: not a valid GroupDRO state: {ex.Message}", ex);
        }
        if (state is null) throw new FormatException($"{path}: empty GroupDRO state.");
        try
        {
            SetState(state);
        }
        catch (ArgumentException ex)
        {
            throw new FormatException($"{path}: {ex.Message}", ex);
        }
    }

    /// <inheritdoc />
    public void Dispose()
    {
        _logq.Dispose();
        _ema.Dispose();
        _initialized.Dispose();
        _adjTerm.Dispose();
        _frac.Dispose();
        _lastLoss.Dispose();
        _lastCount.Dispose();
        _lastWeights.Dispose();
        _lastAcc?.Dispose();
    }

    /// <summary>Greedy bottom-k weights: groups sorted by <paramref name="reference"/> descending get f_g / alpha while the cumulative mass stays within alpha, the next group the remainder, then w = m f + (1 - m) w.</summary>
    private Tensor BtlWeights(Tensor reference)
    {
        var order = reference.argsort(descending: true);
        var sortedFrac = _frac.index_select(0, order);
        var mask = sortedFrac.cumsum(0).le(_options.BtlAlpha);
        var w = mask.to(ScalarType.Float64) * sortedFrac / _options.BtlAlpha;
        var last = mask.to(ScalarType.Int64).sum().clamp_max(NumGroups - 1).reshape(1);
        var lastValue = 1 - (w.sum() - w.index_select(0, last));
        w = w.index_put_(lastValue, last);
        w = sortedFrac * _options.MinVarWeight + w * (1 - _options.MinVarWeight);
        return torch.zeros_like(w).scatter_(0, order, w);
    }

    private void EnsureDevice(Device device)
    {
        if (_logq.device_type == device.type && _logq.device_index == device.index) return;
        Replace(ref _logq, _logq.to(device));
        Replace(ref _ema, _ema.to(device));
        Replace(ref _initialized, _initialized.to(device));
        Replace(ref _adjTerm, _adjTerm.to(device));
        Replace(ref _frac, _frac.to(device));
        Replace(ref _lastLoss, _lastLoss.to(device));
        Replace(ref _lastCount, _lastCount.to(device));
        Replace(ref _lastWeights, _lastWeights.to(device));
        if (_lastAcc is not null)
        {
            var moved = _lastAcc.to(device).DetachFromDisposeScope();
            _lastAcc.Dispose();
            _lastAcc = moved;
        }
    }

    private static void Replace(ref Tensor field, Tensor value)
    {
        if (ReferenceEquals(field, value)) return;
        var old = field;
        field = value.DetachFromDisposeScope();
        old.Dispose();
    }

    private static double[] ToHost(Tensor t)
    {
        using var scope = NewDisposeScope();
        return t.to(ScalarType.Float64).cpu().data<double>().ToArray();
    }
}
