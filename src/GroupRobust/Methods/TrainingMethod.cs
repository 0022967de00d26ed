using GroupRobust.Data;
using GroupRobust.Groups;
using GroupRobust.Identification;
using GroupRobust.Randomness;
using TorchSharp;
using static TorchSharp.torch;
using GroupRobust.Sampling;

namespace GroupRobust.Methods;

/// <summary>
/// Base class of the library's methods and the easy way to write one: it owns the epoch bookkeeping, the named random
/// streams (derived from one <see cref="SeedSource"/>, saved and restored by <see cref="GetState"/> and
/// <see cref="SetState"/>), the dispose scope of every loss and the validation of batches. A subclass supplies the
/// epoch order, the batch loss and, when it has more state, the parts that hold it (<see cref="Track{T}"/>).
/// </summary>
public abstract class TrainingMethod : ITrainingMethod
{
    private readonly SeedSource _seeds;
    private readonly SortedDictionary<string, ReproducibleRandom> _streams = new(StringComparer.Ordinal);
    private readonly List<(string Prefix, IResumable Part)> _parts = [];
    private long _samples;
    private bool _inEpoch;
    private long _orderSeed;
    private Func<long, EpochSampler>? _samplerFactory;
    private EpochSampler? _sampler;
    private readonly Internal.ExclusiveUse _use;
    private Batch? _lastBatch;                        // the batch of the last Loss call, for RepeatLoss
    private GlobalBatch? _lastGlobal;                 // its global batch, when it was a part of one
    private Dictionary<string, ulong[]>? _drawsBefore; // the generators' states before that call
    private readonly ReadOnlyMemory<int> _trainLabels; // the training split's labels (empty when the subclass gave only a size)
    private readonly bool _knowsLabels;
    private IGroupDataset? _checkedOrigin;            // the last batch origin whose labels were found equal to the split's
    private readonly List<GroupAssignment> _groupsRead = []; // the assignments the method trains on (their provenance is checked per origin)

    /// <summary>Creates the method.</summary>
    /// <param name="kind">A stable kind tag stored in the state, e.g. "jm1".</param>
    /// <param name="datasetSize">Size N of the training split the method indexes, at least 1.</param>
    /// <param name="seeds">The seed source every stream of the method derives from.</param>
    protected TrainingMethod(string kind, int datasetSize, SeedSource seeds)
    {
        ArgumentException.ThrowIfNullOrEmpty(kind);
        ArgumentNullException.ThrowIfNull(seeds);
        ArgumentOutOfRangeException.ThrowIfLessThan(datasetSize, 1);
        Kind = kind;
        DatasetSize = datasetSize;
        _seeds = seeds;
        _orderSeed = seeds.Derive("order");
        _use = new Internal.ExclusiveUse($"{kind} method");
    }

    /// <summary>
    /// Creates the method over a training split known by its labels: then every batch's split identity is checked at
    /// <see cref="Loss"/> (a batch a dataset made: its dataset's size and labels, compared once per dataset; a batch built
    /// by hand on the CPU: its labels), so a batch of another split of the same size, of a subset or of a view of another
    /// size is refused instead of trained on.
    /// </summary>
    /// <param name="kind">A stable kind tag stored in the state, e.g. "jm1".</param>
    /// <param name="trainingLabels">The labels of the training split the method indexes (N = their count, at least 1); kept, not copied.</param>
    /// <param name="seeds">The seed source every stream of the method derives from.</param>
    protected TrainingMethod(string kind, ReadOnlyMemory<int> trainingLabels, SeedSource seeds) : this(kind, trainingLabels.Length, seeds)
    {
        _trainLabels = trainingLabels;
        _knowsLabels = true;
    }

    /// <summary>The kind tag stored in the state.</summary>
    public string Kind { get; }

    /// <summary>Size N of the training split.</summary>
    public int DatasetSize { get; }

    /// <inheritdoc />
    public abstract string Name { get; }

    /// <inheritdoc />
    public abstract LabelBudget LabelBudget { get; }

    /// <summary>True when <see cref="LabelBudget"/> includes the training split's group labels.</summary>
    protected bool UsesTrainingGroups => LabelBudget >= LabelBudget.TrainingGroups;

    /// <summary>The current (or last) epoch, numbered from 1; 0 before the first.</summary>
    public int Epoch { get; private set; }

    /// <summary>The run's number of epochs, as passed to <see cref="BeginEpoch"/>.</summary>
    public int TotalEpochs { get; private set; } = 1;

    /// <summary>
    /// Sets the sampler of the epoch orders, built by <paramref name="factory"/> from the seed of the seed source's
    /// "order" stream; the seed is part of the state, so a restored method rebuilds the saved run's sampler.
    /// </summary>
    /// <param name="factory">Builds the sampler from a seed (epoch e's order must depend only on the seed and e).</param>
    protected void UseSampler(Func<long, EpochSampler> factory)
    {
        ArgumentNullException.ThrowIfNull(factory);
        _samplerFactory = factory;
        _sampler = factory(_orderSeed);
    }

    /// <summary>
    /// Registers a group assignment the method trains on. Inferred groups not made by the library's identifiers are then
    /// compared with the true groups of the dataset every batch comes from (once per dataset, host memory): equal groups
    /// count as true groups (<see cref="GroupAssignment.Source"/>), so <see cref="LabelBudget"/>, computed from them, says
    /// the run read training groups. The library's group-based methods register theirs; a subclass that derives its budget
    /// from an assignment should too.
    /// </summary>
    /// <param name="groups">The assignment, made for the training split.</param>
    protected void ReadsGroups(GroupAssignment groups)
    {
        ArgumentNullException.ThrowIfNull(groups);
        _groupsRead.Add(groups);
    }

    /// <summary>Compares the registered assignments with <paramref name="train"/>'s true groups (see <see cref="ReadsGroups"/>); the ready loop calls it before it hands a method a split without group labels.</summary>
    internal void CheckProvenance(IGroupDataset train)
    {
        foreach (var groups in _groupsRead) groups.CheckProvenance(train);
    }

    /// <summary>The sampler set by <see cref="UseSampler"/>.</summary>
    /// <exception cref="InvalidOperationException">No sampler was set.</exception>
    protected EpochSampler Sampler => _sampler ?? throw new InvalidOperationException($"{GetType().Name} set no sampler; call UseSampler in its constructor or override Order.");

    /// <summary>The named generator <paramref name="name"/>, created on first use from the seed source and part of the state.</summary>
    /// <param name="name">A stable stream name such as "partners" or "alpha".</param>
    protected ReproducibleRandom Stream(string name)
    {
        if (!_streams.TryGetValue(name, out var rng))
        {
            rng = _seeds.Random(name);
            _streams[name] = rng;
        }
        return rng;
    }

    /// <summary>
    /// Makes <paramref name="part"/>'s state part of the method's (<see cref="GetState"/>, <see cref="SetState"/>), its
    /// entries named <paramref name="prefix"/> + name; the one way a subclass adds state of its own.
    /// </summary>
    /// <param name="prefix">A stable prefix such as "groupdro/"; distinct per part.</param>
    /// <param name="part">The part (a loss, a mixer's statistics, buffers of the method's own).</param>
    /// <returns><paramref name="part"/>.</returns>
    protected T Track<T>(string prefix, T part) where T : IResumable
    {
        if (_parts.Any(p => p.Prefix == prefix)) throw new InvalidOperationException($"A state part with prefix '{prefix}' is already tracked.");
        _parts.Add((prefix, part));
        return part;
    }

    /// <inheritdoc />
    public long[] BeginEpoch(int epoch, int totalEpochs)
    {
        using var use = _use.Enter();
        if (totalEpochs < 1) throw new ArgumentOutOfRangeException(nameof(totalEpochs), totalEpochs, "At least one epoch is needed.");
        if (epoch < 1 || epoch > totalEpochs)
            throw new ArgumentOutOfRangeException(nameof(epoch), epoch, $"Epoch must be in [1, {totalEpochs}] (epochs are numbered from 1).");
        if (_inEpoch) throw new InvalidOperationException($"Epoch {Epoch} was begun but not ended; call EndEpoch before beginning epoch {epoch}.");
        Epoch = epoch;
        TotalEpochs = totalEpochs;
        _samples = 0;
        _inEpoch = true;
        _lastBatch = null;
        _drawsBefore = null;
        return Order(epoch);
    }

    /// <inheritdoc />
    public Tensor Loss(nn.Module<Tensor, Tensor> model, Batch batch)
    {
        using var use = _use.Enter();
        if (batch?.Size == 0) throw new ArgumentException("The batch is empty.", nameof(batch));
        return First(model, batch!, null);
    }

    /// <summary>
    /// The loss of one part of a global batch, in the form row-weighted gradient averaging expects: the mean over the
    /// part's rows of a per-row loss, with the per-batch randomness drawn for the whole global batch (data-parallel
    /// training: GroupRobust.Distributed's entry point). A part may have no rows.
    /// </summary>
    /// <exception cref="NotSupportedException">The method cannot train on parts of a global batch.</exception>
    internal Tensor LossOfPart(nn.Module<Tensor, Tensor> model, Batch part, GlobalBatch global)
    {
        using var use = _use.Enter();
        ArgumentNullException.ThrowIfNull(global);
        CheckParts();
        for (int i = 0; i < global.Indices.Length; i++)
            if ((ulong)global.Indices[i] >= (ulong)DatasetSize)
                throw new ArgumentException($"Row {i} of the part's global batch has index {global.Indices[i]}, outside the method's training split of {DatasetSize} samples.", nameof(global));
        return First(model, part, global);
    }

    /// <summary>The first evaluation of a batch (or part): checks it, keeps what a repeat replays, counts its rows.</summary>
    private Tensor First(nn.Module<Tensor, Tensor> model, Batch batch, GlobalBatch? global)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(batch);
        if (!_inEpoch) throw new InvalidOperationException("No epoch was begun; call BeginEpoch(epoch, totalEpochs) first and fetch batches with the indices it returns.");
        var indices = batch.Indices;
        for (int i = 0; i < indices.Length; i++)
            if ((ulong)indices[i] >= (ulong)DatasetSize)
                throw new ArgumentException($"Batch row {i} has index {indices[i]}, outside the method's training split of {DatasetSize} samples.", nameof(batch));
        CheckSplit(batch);
        CheckFinite(batch);
        CheckBatch(model, batch);
        _drawsBefore = _streams.ToDictionary(kv => kv.Key, kv => kv.Value.GetState(), StringComparer.Ordinal);
        _lastBatch = batch;
        _lastGlobal = global;
        var loss = Compute(model, batch, global);
        _samples += batch.Size;
        return loss;
    }

    /// <summary>
    /// Refuses floating-point inputs with NaN or infinity (the loss would be NaN and the step would poison the model) when
    /// they are on the CPU; other devices are not read (no sync in the training step).
    /// </summary>
    private static void CheckFinite(Batch batch)
    {
        var inputs = batch.Inputs;
        if (inputs.device_type != DeviceType.CPU || !inputs.is_floating_point() || inputs.numel() == 0) return;
        using var scope = NewDisposeScope();
        if (inputs.isfinite().all().ToBoolean()) return;
        long row = inputs.reshape(inputs.shape[0], -1).isfinite().all(1).logical_not().nonzero()[0, 0].ToInt64();
        throw new ArgumentException($"The batch's inputs contain a non-finite value (NaN or infinity) in row {row} (sample {batch.Indices[(int)row]}): " +
            "the loss would be NaN and the step would poison the model. Clean or drop the sample.", nameof(batch));
    }

    /// <summary>Refuses a batch of another split (see the labels constructor); reads no device memory.</summary>
    private void CheckSplit(Batch batch)
    {
        if (batch.Origin is IGroupDataset origin)
        {
            if (origin.Count != DatasetSize)
                throw new ArgumentException($"The batch comes from a dataset of {origin.Count} samples ({origin.GetType().Name}) but the {Kind} method trains on a split of {DatasetSize}: " +
                    "another split, or a subset or view of another size (fetch batches from the split the method was made for).", nameof(batch));
            if (ReferenceEquals(origin, _checkedOrigin)) return;
            if (_knowsLabels)
            {
                var theirs = origin.Labels.Span;
                var ours = _trainLabels.Span;
                for (int i = 0; i < ours.Length; i++)
                    if (theirs[i] != ours[i])
                        throw new ArgumentException($"The batch comes from a dataset of the same size whose sample {i} has label {theirs[i]}, where the {Kind} method's training split has {ours[i]}: " +
                            "another split of the same size (fetch batches from the split the method was made for).", nameof(batch));
            }
            CheckProvenance(origin);
            _checkedOrigin = origin;
            return;
        }
        if (!_knowsLabels || batch.Labels.device_type != DeviceType.CPU) return;
        using var scope = NewDisposeScope();
        var labels = batch.Labels.to(ScalarType.Int64).data<long>().ToArray();
        var split = _trainLabels.Span;
        for (int i = 0; i < labels.Length; i++)
            if (labels[i] != split[(int)batch.Indices[i]])
                throw new ArgumentException($"Batch row {i} (index {batch.Indices[i]}) has label {labels[i]} but the {Kind} method's training split has {split[(int)batch.Indices[i]]} there: the batch comes from another split.", nameof(batch));
    }

    /// <inheritdoc />
    public Tensor RepeatLoss(nn.Module<Tensor, Tensor> model, Batch batch)
    {
        using var use = _use.Enter();
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(batch);
        if (!_inEpoch || _lastBatch is null || _drawsBefore is null)
            throw new InvalidOperationException("No loss was computed in this epoch; RepeatLoss recomputes the loss of the batch last given to Loss.");
        if (!ReferenceEquals(batch, _lastBatch))
            throw new InvalidOperationException("RepeatLoss takes the batch last given to Loss (the same instance): it replays that batch's random draws.");
        // replay the draws of the last Loss call, then put the generators back where that call left them
        var after = _streams.ToDictionary(kv => kv.Key, kv => kv.Value.GetState(), StringComparer.Ordinal);
        RestoreDraws(_drawsBefore);
        Repeating = true;
        try
        {
            return Compute(model, batch, _lastGlobal);
        }
        finally
        {
            Repeating = false;
            RestoreDraws(after);
        }
    }

    /// <summary>
    /// True while <see cref="RepeatLoss"/> recomputes a loss: the generators replay the last call's draws, and a subclass
    /// must leave its state as it is (no update of group weights, loss averages or statistics).
    /// </summary>
    protected bool Repeating { get; private set; }

    /// <summary>
    /// While <see cref="Repeating"/>, runs <paramref name="body"/> and then puts <paramref name="part"/> back as it was (for
    /// statistics that the replayed draws count again); otherwise just runs it. Meant for host-side parts: the state is
    /// copied through <see cref="IResumable"/>.
    /// </summary>
    protected T Unchanged<T>(IResumable part, Func<T> body)
    {
        ArgumentNullException.ThrowIfNull(part);
        ArgumentNullException.ThrowIfNull(body);
        if (!Repeating) return body();
        var saved = new Dictionary<string, double[]>(StringComparer.Ordinal);
        part.WriteState(saved, "");
        try
        {
            return body();
        }
        finally
        {
            part.ReadState(saved, "")();
        }
    }

    private Tensor Compute(nn.Module<Tensor, Tensor> model, Batch batch, GlobalBatch? global)
    {
        using var scope = NewDisposeScope();
        var view = UsesTrainingGroups ? batch : batch.WithoutGroupIds();
        var loss = global is null ? BatchLoss(model, view) : PartLoss(model, view, global);
        return loss.MoveToOuterDisposeScope();
    }

    /// <summary>Sets every generator to <paramref name="states"/>; a generator created since then starts afresh.</summary>
    private void RestoreDraws(Dictionary<string, ulong[]> states)
    {
        foreach (var (name, rng) in _streams)
            rng.SetState(states.TryGetValue(name, out var state) ? state : _seeds.Random(name).GetState());
    }

    /// <inheritdoc />
    public MethodEpochSummary EndEpoch()
    {
        using var use = _use.Enter();
        if (!_inEpoch) throw new InvalidOperationException("No epoch was begun; EndEpoch closes the epoch BeginEpoch started.");
        _inEpoch = false;
        _lastBatch = null;
        _drawsBefore = null;
        return Summarize(new MethodEpochSummary { Epoch = Epoch, Samples = _samples });
    }

    /// <inheritdoc />
    public MethodState GetState()
    {
        using var use = _use.Enter();
        var values = new Dictionary<string, double[]>(StringComparer.Ordinal)
        {
            ["epoch"] = [Epoch, TotalEpochs, _inEpoch ? 1 : 0, _samples],
        };

        foreach (var (prefix, part) in _parts) part.WriteState(values, prefix);
        return new MethodState
        {
            Kind = Kind,
            Seeds = new Dictionary<string, long>(StringComparer.Ordinal) { ["order"] = _orderSeed },
            Generators = _streams.ToDictionary(kv => kv.Key, kv => kv.Value.GetState()),
            Values = values,
        };
    }

    /// <inheritdoc />
    public void SetState(MethodState state)
    {
        using var use = _use.Enter();
        ArgumentNullException.ThrowIfNull(state);
        if (state.Version == 1)
            throw new ArgumentException("The method state is version 1, written when epochs were numbered from 0 (GroupRobust 0.1): its epoch counters mean something else now. Resume it with 0.1, or start the run again.", nameof(state));
        if (state.Version != MethodState.CurrentVersion)
            throw new ArgumentException($"Unknown method state version {state.Version}; expected {MethodState.CurrentVersion}.", nameof(state));
        if (state.Kind != Kind) throw new ArgumentException($"The state belongs to a '{state.Kind}' method; this one is '{Kind}'.", nameof(state));
        if (state.Seeds is null || state.Generators is null || state.Values is null)
            throw new ArgumentException("The method state is incomplete (no seeds, generators or values).", nameof(state));
        if (!state.Values.TryGetValue("epoch", out var position) || position.Length != 4)
            throw new ArgumentException("The method state has no valid 'epoch' entry (4 numbers).", nameof(state));
        static bool Whole(double v, double max) => v >= 0 && v <= max && v == Math.Floor(v);
        if (!(Whole(position[0], int.MaxValue) && Whole(position[1], int.MaxValue) && position[1] >= 1 && position[0] <= position[1]
              && position[2] is 0 or 1 && (position[2] == 0 || position[0] >= 1) && Whole(position[3], 1L << 53)))
            throw new ArgumentException($"The method state's epoch position is invalid: [{string.Join(", ", position)}]; expected [epoch in 0..total, total >= 1, in progress 0 or 1 (1 only from epoch 1), samples >= 0], whole numbers.", nameof(state));
        if (!state.Seeds.TryGetValue("order", out var orderSeed))
            throw new ArgumentException("The method state has no 'order' seed.", nameof(state));
        var generators = new Dictionary<string, ReproducibleRandom>(StringComparer.Ordinal);
        foreach (var (name, words) in state.Generators)
        {
            try
            {
                generators[name] = ReproducibleRandom.FromState(words);
            }
            catch (ArgumentException ex)
            {
                throw new ArgumentException($"Generator '{name}' of the method state is invalid: {ex.Message}", nameof(state), ex);
            }
        }
        // Validate every part first; nothing changes unless all of it is accepted.
        var apply = _parts.Select(p => p.Part.ReadState(state.Values, p.Prefix)).ToList();
        foreach (var (name, rng) in generators)
            Stream(name).SetState(rng.GetState());
        Epoch = (int)position[0];
        TotalEpochs = Math.Max(1, (int)position[1]);
        _inEpoch = position[2] != 0;
        _samples = (long)position[3];
        _orderSeed = orderSeed;
        if (_samplerFactory is not null) _sampler = _samplerFactory(_orderSeed);
        foreach (var a in apply) a();
    }

    /// <summary>
    /// Checks a batch at the door, before anything is drawn or counted (a refused batch changes nothing); by default
    /// nothing beyond the indices the base class checks. Mixing methods refuse inputs they cannot interpolate.
    /// </summary>
    /// <param name="model">The model the loss will run.</param>
    /// <param name="batch">The batch.</param>
    /// <exception cref="ArgumentException">The batch cannot be used.</exception>
    protected virtual void CheckBatch(nn.Module<Tensor, Tensor> model, Batch batch)
    {
    }

    /// <summary>The number of samples of epoch <paramref name="epoch"/>'s order, without beginning it (orders depend only on the seed and the epoch).</summary>
    internal long EpochLength(int epoch, int totalEpochs)
    {
        using var use = _use.Enter();
        if (epoch < 1 || epoch > totalEpochs) throw new ArgumentOutOfRangeException(nameof(epoch), epoch, $"Epoch must be in [1, {totalEpochs}].");
        return Order(epoch).Length;
    }

    /// <summary>The sample indices of epoch <paramref name="epoch"/>; by default the <see cref="Sampler"/>'s.</summary>
    protected virtual long[] Order(int epoch) => Sampler.IndicesForEpoch(epoch);

    /// <summary>The loss of one validated batch (inside a dispose scope the base class owns; return a tensor created in it).</summary>
    protected abstract Tensor BatchLoss(nn.Module<Tensor, Tensor> model, Batch batch);

    /// <summary>
    /// The loss of one part of a global batch (data-parallel training), in the form the row-weighted gradient averaging
    /// expects: the mean over this part's rows of a per-row loss, so that the averaged gradient is the global batch's.
    /// Randomness drawn per batch must be drawn for the whole global batch (every part advances the generators alike). A
    /// part may have no rows (<see cref="EmptyPartLoss"/>). The base refuses: a method whose loss is not a mean of per-row
    /// terms, or that keeps per-batch state of its own, cannot be split this way; ERM, JTT, the mixing methods and GroupDRO
    /// (with its statistics reduced across processes) override it.
    /// </summary>
    /// <exception cref="NotSupportedException">The method cannot train on parts of a global batch.</exception>
    private protected virtual Tensor PartLoss(nn.Module<Tensor, Tensor> model, Batch batch, GlobalBatch global)
        => throw new NotSupportedException($"{Name} cannot train on parts of a global batch ({global}).");

    /// <summary>
    /// Throws unless the method can train on parts of a global batch now (checked before an epoch begins and before each
    /// part): the base refuses; a method that overrides <see cref="PartLoss"/> overrides this too.
    /// </summary>
    /// <exception cref="NotSupportedException">The method's loss does not split into parts.</exception>
    /// <exception cref="InvalidOperationException">It splits, but is not ready (GroupDRO's statistics not reduced over the job).</exception>
    private protected virtual void CheckParts()
        => throw new NotSupportedException($"{Name} cannot train on parts of a global batch: its batch loss is not a mean of per-row terms drawn independently of the other parts. Data-parallel training supports ERM, JTT, GroupDRO and the mixing methods (JM1, JM1+, c-MixUp).");

    /// <summary>The door of data-parallel training (<see cref="CheckParts"/>), before an epoch begins.</summary>
    internal void EnsureSplitsIntoParts()
    {
        using var use = _use.Enter();
        CheckParts();
    }

    /// <summary>
    /// The bookkeeping <see cref="BeginEpoch"/> changes (the epoch, the run's epochs, the sample count, the repeat's
    /// batch), saved before an epoch begins so that data-parallel training can undo a begun epoch its cross-rank check
    /// refuses (<see cref="RestoreEpochPosition"/>): the orders are pure functions of the seed and the epoch, so nothing
    /// else moved.
    /// </summary>
    internal EpochPosition SaveEpochPosition()
    {
        using var use = _use.Enter();
        return new EpochPosition(Epoch, TotalEpochs, _samples, _inEpoch, _lastBatch, _lastGlobal, _drawsBefore);
    }

    /// <summary>Puts back the bookkeeping saved by <see cref="SaveEpochPosition"/> (no batch was taken since).</summary>
    internal void RestoreEpochPosition(EpochPosition saved)
    {
        ArgumentNullException.ThrowIfNull(saved);
        using var use = _use.Enter();
        Epoch = saved.Epoch;
        TotalEpochs = saved.TotalEpochs;
        _samples = saved.Samples;
        _inEpoch = saved.InEpoch;
        _lastBatch = saved.LastBatch;
        _lastGlobal = saved.LastGlobal;
        _drawsBefore = saved.DrawsBefore;
    }

    /// <summary>What <see cref="SaveEpochPosition"/> saves.</summary>
    internal sealed record EpochPosition(int Epoch, int TotalEpochs, long Samples, bool InEpoch, Batch? LastBatch, GlobalBatch? LastGlobal, Dictionary<string, ulong[]>? DrawsBefore);

    /// <summary>
    /// The loss of a part with no rows: a zero scalar that can be backpropagated (it reaches no parameter), on the batch's
    /// device; the part's gradients then count as zero in the average.
    /// </summary>
    private protected static Tensor EmptyPartLoss(Batch batch)
    {
        ArgumentNullException.ThrowIfNull(batch);
        return torch.zeros([], ScalarType.Float32, batch.Inputs.device, requires_grad: true);
    }

    /// <summary>Adds the method's own statistics to the epoch summary (and logs them); the base returns it unchanged.</summary>
    protected virtual MethodEpochSummary Summarize(MethodEpochSummary summary) => summary;

    /// <summary>Frees what the method owns; later calls throw <see cref="ObjectDisposedException"/>. Not thread-safe: use from two threads at once throws.</summary>
    /// <exception cref="InvalidOperationException">Another thread is inside a call of the method (its tensors are in use).</exception>
    public void Dispose()
    {
        _use.Dispose(() => Dispose(true));
        GC.SuppressFinalize(this);
    }

    /// <summary>Enters a call of the method's own (see the thread-safety remarks): subclasses guard their public members that read or change its state with it.</summary>
    /// <exception cref="InvalidOperationException">Another thread is inside a call.</exception>
    /// <exception cref="ObjectDisposedException">The method was disposed.</exception>
    private protected Internal.ExclusiveUse.Scope EnterCall() => _use.Enter();

    /// <summary>Frees owned resources (loss modules); override and call the base.</summary>
    /// <param name="disposing">True when called from <see cref="Dispose()"/>.</param>
    protected virtual void Dispose(bool disposing)
    {
    }
}
