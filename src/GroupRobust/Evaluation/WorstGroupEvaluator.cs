using GroupRobust.Data;
using GroupRobust.Groups;
using GroupRobust.Identification;
using GroupRobust.Internal;
using GroupRobust.Randomness;
using MathNet.Numerics.Statistics;
using TorchSharp;
using static TorchSharp.torch;

namespace GroupRobust.Evaluation;

/// <summary>
/// Accumulates predictions batch by batch, on the device of the inputs, and computes per-group, average,
/// worst-group, balanced and adjusted accuracy with bootstrap intervals, per-class precision and F1, and (with
/// <see cref="EvaluatorOptions.ProbabilityMetrics"/>) AUROC and expected calibration error (<see cref="EvaluationResult"/>).
/// </summary>
/// <remarks>
/// <para>Counting uses <c>scatter_add_</c> into per-group and per-class counters on the batch's device: no per-sample host
/// loop and no host synchronisation per batch. Per-sample outcomes (one int32 per sample) are also kept on the device for
/// the bootstrap; they are consolidated into one tensor every 64 batches, so the live tensor count stays bounded.</para>
/// <para>Values are range-checked eagerly when the tensors are on the CPU (free there); on an accelerator, an out-of-range
/// label or group id trips the indexing kernel's device assertion instead of costing a synchronisation per batch.</para>
/// <para>The evaluator is not bound to a model: <c>Evaluate</c> takes one as an argument. It is not thread-safe: a call
/// while another thread is inside one throws <see cref="InvalidOperationException"/> (updates are never lost silently), and
/// a call after <see cref="Dispose"/> throws <see cref="ObjectDisposedException"/>. Evaluation restores the training flag of
/// every submodule of the model exactly as it was.</para>
/// </remarks>
public sealed class WorstGroupEvaluator : IDisposable
{
    private const int ConsolidateEvery = 64;
    private readonly ExclusiveUse _use = new("WorstGroupEvaluator");
    private readonly EvaluatorOptions _options;
    private readonly List<Tensor> _outcomes = [];
    private readonly List<Tensor> _probabilities = [];   // softmax rows [B, C] (float32) and labels, kept only with ProbabilityMetrics
    private readonly List<Tensor> _probabilityLabels = [];
    private Tensor? _groupTotal, _groupCorrect, _classTotal, _classCorrect, _classPredicted;
    private bool? _hasGroups;
    private long _count;

    /// <summary>Creates an evaluator for <paramref name="scheme"/>.</summary>
    /// <param name="scheme">The group structure (number of classes and groups, names).</param>
    /// <param name="options">Bootstrap settings; defaults when null.</param>
    public WorstGroupEvaluator(GroupScheme scheme, EvaluatorOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(scheme);
        _options = options ?? new EvaluatorOptions();
        _options.Validate();
        Scheme = scheme;
    }

    /// <summary>The group structure.</summary>
    public GroupScheme Scheme { get; }

    /// <summary>Samples accumulated since the last <see cref="Reset"/>.</summary>
    public long Count => _count;

    /// <summary>
    /// Adds one batch. <paramref name="predictions"/> is either logits [B, C] (floating; the arg-max is the prediction)
    /// or predicted classes [B] (integer). An empty batch (B = 0) is validated (shapes, dtypes, devices) and otherwise
    /// a no-op. The range and finiteness checks run on CPU tensors only (on an accelerator they would need a device
    /// synchronisation per batch; the indexing kernels' device assertions catch out-of-range ids there).
    /// </summary>
    /// <param name="predictions">Logits [B, C] or predicted labels [B].</param>
    /// <param name="labels">True labels [B], integer, in [0, C).</param>
    /// <param name="groups">Group ids [B], integer, in [0, G) and consistent with the labels; null when the split has no group labels (then all batches must omit them).</param>
    /// <exception cref="ArgumentException">Shape, dtype or device mismatch, non-finite logits, or groups given for some batches but not others.</exception>
    /// <exception cref="ArgumentOutOfRangeException">A label, prediction or group id is out of range.</exception>
    public void Add(Tensor predictions, Tensor labels, Tensor? groups)
    {
        using var use = _use.Enter();
        Guard.NotNull(predictions, nameof(predictions));
        Guard.Dims(labels, 1, nameof(labels));
        Guard.Integral(labels, nameof(labels));
        long b = labels.shape[0];
        if (predictions.dim() == 2)
        {
            Guard.Floating(predictions, nameof(predictions));
            if (predictions.shape[1] != Scheme.NumClasses)
                throw new ArgumentException($"'predictions' has {predictions.shape[1]} logit columns but the scheme has {Scheme.NumClasses} classes (shape {Guard.Shape(predictions)}).", nameof(predictions));
        }
        else if (predictions.dim() == 1)
        {
            Guard.Integral(predictions, nameof(predictions));
            if (_options.ProbabilityMetrics)
                throw new ArgumentException("'predictions' are class ids, but the evaluator computes probability metrics (EvaluatorOptions.ProbabilityMetrics: AUROC, ECE), which need logits [B, C].", nameof(predictions));
        }
        else
        {
            throw new ArgumentException($"'predictions' must be logits [B, C] or labels [B], got shape {Guard.Shape(predictions)}.", nameof(predictions));
        }
        Guard.Length(predictions, b, nameof(predictions), nameof(labels));
        Guard.SameDevice(predictions, nameof(predictions), labels, nameof(labels));
        if (groups is not null)
        {
            Guard.Dims(groups, 1, nameof(groups));
            Guard.Integral(groups, nameof(groups));
            Guard.Length(groups, b, nameof(groups), nameof(labels));
            Guard.SameDevice(predictions, nameof(predictions), groups, nameof(groups));
        }
        if (_hasGroups is bool had && had != (groups is not null))
            throw new ArgumentException(had
                ? "'groups' is null but earlier batches had group ids; a split is evaluated either with or without group labels."
                : "'groups' was given but earlier batches had none; a split is evaluated either with or without group labels.", nameof(groups));
        if (_groupTotal is not null || _classTotal is not null)
            Guard.SameDevice(predictions, nameof(predictions), _classTotal!.device, "the evaluator's accumulated state (first batch)");
        if (b == 0) return;

        Guard.IndexRange(labels, Scheme.NumClasses, nameof(labels), "label");
        if (predictions.dim() == 1) Guard.IndexRange(predictions, Scheme.NumClasses, nameof(predictions), "predicted class");
        else Guard.Finite(predictions, nameof(predictions));
        if (groups is not null)
        {
            Guard.IndexRange(groups, Scheme.NumGroups, nameof(groups), "group id");
            CheckConsistent(groups, labels);
        }

        Accumulate(predictions, labels, groups, b);
    }

    /// <summary>Counts one checked batch: the arg-max against the labels, per class and per group, and the outcomes the bootstrap resamples.</summary>
    private void Accumulate(Tensor predictions, Tensor labels, Tensor? groups, long b)
    {
        using var scope = NewDisposeScope();
        using var noGrad = torch.no_grad();
        EnsureState(predictions.device, groups is not null);
        var y = labels.to(ScalarType.Int64);
        // reduced-precision logits are widened (exactly) before the arg-max, so ties and counts are those of float32 logits
        var pred = predictions.dim() == 2
            ? (predictions.dtype is ScalarType.Float16 or ScalarType.BFloat16 ? predictions.to(ScalarType.Float32) : predictions).argmax(1)
            : predictions.to(ScalarType.Int64);
        var correct = pred.eq(y).to(ScalarType.Int64);
        var ones = torch.ones_like(y);
        _classTotal!.scatter_add_(0, y, ones);
        _classCorrect!.scatter_add_(0, y, correct);
        _classPredicted!.scatter_add_(0, pred, ones);
        if (_options.ProbabilityMetrics)
        {
            _probabilities.Add(predictions.to(ScalarType.Float32).softmax(1).DetachFromDisposeScope());
            _probabilityLabels.Add(y.DetachFromDisposeScope());
        }
        Tensor key = y;
        if (groups is not null)
        {
            key = groups.to(ScalarType.Int64);
            _groupTotal!.scatter_add_(0, key, ones);
            _groupCorrect!.scatter_add_(0, key, correct);
        }
        _outcomes.Add(key.mul(2).add(correct).to(ScalarType.Int32).DetachFromDisposeScope());
        if (_outcomes.Count >= ConsolidateEvery) Consolidate();
        _hasGroups = groups is not null;
        _count += b;
    }

    /// <summary>Adds a <see cref="Batch"/> and the logits the model produced for it.</summary>
    /// <param name="logits">Logits [B, C] (or predicted labels [B]).</param>
    /// <param name="batch">The batch; its group ids are used when present.</param>
    public void Add(Tensor logits, Batch batch)
    {
        ArgumentNullException.ThrowIfNull(batch);
        Add(logits, batch.Labels, batch.Groups);
    }

    /// <summary>Computes the metrics of everything added since the last <see cref="Reset"/>. Synchronises with the device once.</summary>
    /// <param name="trainGroupCounts">Training-set count of every group (length G), for the adjusted average; optional.</param>
    /// <exception cref="InvalidOperationException">No sample was added.</exception>
    /// <exception cref="ArgumentException"><paramref name="trainGroupCounts"/> has the wrong length or a negative count.</exception>
    public EvaluationResult Compute(IReadOnlyList<long>? trainGroupCounts = null)
    {
        using var use = _use.Enter();
        if (_count == 0) throw new InvalidOperationException("No samples were added; call Add before Compute.");
        CheckTrainGroupCounts(trainGroupCounts);
        bool hasGroups = _hasGroups == true;
        var result = Build(ToHost(_classTotal!), ToHost(_classCorrect!), ToHost(_classPredicted!), hasGroups ? ToHost(_groupTotal!) : null, hasGroups ? ToHost(_groupCorrect!) : null,
            () => HostOutcomes(), trainGroupCounts);
        if (!_options.ProbabilityMetrics) return result;
        using var scope = NewDisposeScope();
        var probabilities = torch.cat(_probabilities, 0).cpu();
        var labels = torch.cat(_probabilityLabels, 0).cpu().data<long>().ToArray();
        var p = probabilities.data<float>().ToArray();
        return result with
        {
            Auroc = ProbabilityMetrics.MacroAuroc(p, labels, Scheme.NumClasses),
            ExpectedCalibrationError = ProbabilityMetrics.ExpectedCalibrationError(p, labels, Scheme.NumClasses),
        };
    }

    private void CheckTrainGroupCounts(IReadOnlyList<long>? trainGroupCounts)
    {
        if (trainGroupCounts is null) return;
        if (trainGroupCounts.Count != Scheme.NumGroups)
            throw new ArgumentException($"Expected {Scheme.NumGroups} training group counts, got {trainGroupCounts.Count}.", nameof(trainGroupCounts));
        if (trainGroupCounts.Any(c => c < 0))
            throw new ArgumentException("Training group counts must be >= 0.", nameof(trainGroupCounts));
    }

    /// <summary>The metrics from host tallies (groups null without group labels) and the per-sample outcomes in evaluation order (read only for the bootstrap).</summary>
    private EvaluationResult Build(long[] classTotal, long[] classCorrect, long[] classPredicted, long[]? groupTotal, long[]? groupCorrect, Func<int[]> outcomes, IReadOnlyList<long>? trainGroupCounts)
    {
        var classes = Enumerable.Range(0, Scheme.NumClasses)
            .Select(c => new ClassAccuracy(c, Scheme.ClassNames[c], classTotal[c], classCorrect[c]) { Predicted = classPredicted[c] }).ToArray();
        int? worstClass = ArgMinNonEmpty(classTotal, classCorrect);

        GroupAccuracy[] groups = [];
        int? worstGroup = null;
        double? balanced = null, adjusted = null;
        if (groupTotal is not null && groupCorrect is not null)
        {
            groups = Enumerable.Range(0, Scheme.NumGroups)
                .Select(g => new GroupAccuracy(g, Scheme.GroupName(g), groupTotal[g], groupCorrect[g])).ToArray();
            worstGroup = ArgMinNonEmpty(groupTotal, groupCorrect);
            balanced = groups.Where(g => !g.IsEmpty).Average(g => g.Accuracy!.Value);
            if (trainGroupCounts is not null)
            {
                double n = trainGroupCounts.Sum();
                bool defined = n > 0 && Enumerable.Range(0, Scheme.NumGroups).All(g => trainGroupCounts[g] == 0 || !groups[g].IsEmpty);
                if (defined)
                    adjusted = Enumerable.Range(0, Scheme.NumGroups).Where(g => trainGroupCounts[g] > 0)
                        .Sum(g => groups[g].Accuracy!.Value * trainGroupCounts[g] / n);
            }
        }

        var (avgCi, worstCi) = _options.BootstrapSamples == 0 ? (null, null) : Bootstrap(outcomes(), groupTotal is not null);
        return new EvaluationResult
        {
            Groups = groups,
            Classes = classes,
            Count = classTotal.Sum(),
            Correct = classCorrect.Sum(),
            WorstGroup = worstGroup,
            BalancedAccuracy = balanced,
            AdjustedAverageAccuracy = adjusted,
            WorstClass = worstClass,
            NumAttributes = Scheme.NumAttributes,
            AverageInterval = avgCi,
            WorstGroupInterval = worstCi,
        };
    }

    /// <summary>
    /// Data-parallel evaluation (GroupRobust.Distributed): this process evaluates <paramref name="rows"/> (its share of
    /// the dataset; possibly none), <paramref name="allReduceSum"/> sums the tallies of every process, and the metrics
    /// are computed from the job's totals: the result equals <see cref="Evaluate(nn.Module{Tensor, Tensor}, IGroupDataset, int, Device?, IReadOnlyList{long}?)"/>
    /// on the whole dataset in one process, bootstrap intervals included (the per-sample outcomes travel in dataset
    /// order when the bootstrap is on: N numbers). Every row must be evaluated by exactly one process.
    /// </summary>
    internal EvaluationResult EvaluateShare(nn.Module<Tensor, Tensor> model, IGroupDataset dataset, IReadOnlyList<long> rows, int batchSize, Device? device,
        IReadOnlyList<long>? trainGroupCounts, GroupAssignment? assigned, int processes, Action<long[]> allReduceSum)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(batchSize, 1);
        CheckTrainGroupCounts(trainGroupCounts);
        if (_options.ProbabilityMetrics)
            throw new NotSupportedException("Probability metrics (EvaluatorOptions.ProbabilityMetrics: AUROC, ECE) rank every row's probabilities together; data-parallel evaluation sums counts only. Evaluate them in one process.");
        using var use = _use.Enter();
        Reset();
        bool hasGroups = assigned is not null || dataset.HasGroups;
        int c = Scheme.NumClasses, g = hasGroups ? Scheme.NumGroups : 0, n = dataset.Count;
        if (n == 0) throw new InvalidOperationException("The dataset is empty; there is nothing to evaluate.");
        // one number first, so that processes with other splits fail here instead of exchanging buffers of other lengths
        var sizes = new long[] { n, hasGroups ? 1 : 0 };
        allReduceSum(sizes);
        if (sizes[0] != (long)n * processes || sizes[1] != (hasGroups ? processes : 0))
            throw new InvalidOperationException($"The processes evaluate different splits (this one has {n} rows{(hasGroups ? " with groups" : " without groups")}; the job's sums are {sizes[0]} rows and {sizes[1]} grouped over {processes} processes); every process must evaluate the same split.");
        bool bootstrap = _options.BootstrapSamples > 0;
        // one buffer: class totals, hits and predictions, group totals and hits, rows evaluated, then (bootstrap) outcome + 1 per row
        int k = 3 * c;   // where the group tallies start
        var buffer = new long[k + 2 * g + 1 + (bootstrap ? n : 0)];
        if (rows.Count > 0)
        {
            using (TrainingModes.Evaluating(model))
            {
                using var noGrad = torch.no_grad();
                foreach (var chunk in rows.Chunk(batchSize))
                {
                    using var scope = NewDisposeScope();
                    using var batch = dataset.GetBatch(chunk);
                    AddPass(model, batch, device, assigned);
                }
            }
            ToHost(_classTotal!).CopyTo(buffer, 0);
            ToHost(_classCorrect!).CopyTo(buffer, c);
            ToHost(_classPredicted!).CopyTo(buffer, 2 * c);
            if (hasGroups)
            {
                ToHost(_groupTotal!).CopyTo(buffer, k);
                ToHost(_groupCorrect!).CopyTo(buffer, k + g);
            }
            buffer[k + 2 * g] = rows.Count;
            if (bootstrap)
            {
                var local = HostOutcomes();
                for (int i = 0; i < local.Length; i++) buffer[k + 2 * g + 1 + rows[i]] = local[i] + 1L;
            }
        }
        Reset();
        allReduceSum(buffer);
        long evaluated = buffer[k + 2 * g];
        if (evaluated != n)
            throw new InvalidOperationException($"The processes evaluated {evaluated} rows of a {n}-row dataset; every row must be evaluated by exactly one process.");
        int[] Outcomes()
        {
            var outcomes = new int[n];
            for (int i = 0; i < n; i++)
            {
                long o = buffer[k + 2 * g + 1 + i] - 1;
                if (o < 0 || o > int.MaxValue)
                    throw new InvalidOperationException($"Row {i} was evaluated by no process or by several; every row must be evaluated by exactly one process.");
                outcomes[i] = (int)o;
            }
            return outcomes;
        }
        return Build(buffer[..c], buffer[c..(2 * c)], buffer[(2 * c)..k], hasGroups ? buffer[k..(k + g)] : null, hasGroups ? buffer[(k + g)..(k + 2 * g)] : null,
            Outcomes, trainGroupCounts);
    }

    /// <summary>
    /// Evaluates <paramref name="model"/> on <paramref name="dataset"/>: resets, runs the model in eval mode under
    /// <c>no_grad</c> batch by batch (each in its own dispose scope), restores the model's training mode, and computes.
    /// </summary>
    /// <param name="model">The classifier, producing logits [B, C].</param>
    /// <param name="dataset">The split to evaluate.</param>
    /// <param name="batchSize">Evaluation batch size (default 256).</param>
    /// <param name="device">Device to move inputs to before the forward pass; null keeps the dataset's device.</param>
    /// <param name="trainGroupCounts">Training group counts for the adjusted average; optional.</param>
    public EvaluationResult Evaluate(nn.Module<Tensor, Tensor> model, IGroupDataset dataset, int batchSize = 256,
        Device? device = null, IReadOnlyList<long>? trainGroupCounts = null)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(dataset);
        if (dataset.Scheme.NumClasses != Scheme.NumClasses || (dataset.HasGroups && dataset.Scheme.NumGroups != Scheme.NumGroups))
            throw new ArgumentException($"The dataset's scheme ({dataset.Scheme.NumClasses} classes, {dataset.Scheme.NumGroups} groups) does not match the evaluator's ({Scheme.NumClasses} classes, {Scheme.NumGroups} groups).", nameof(dataset));
        return Run(model, dataset, batchSize, device, trainGroupCounts, null);
    }

    /// <summary>
    /// Evaluates <paramref name="model"/> on <paramref name="dataset"/> reporting accuracy per group of
    /// <paramref name="groups"/> instead of the dataset's own annotations: for example per inferred group of the
    /// training set (how the model does on the error set and the rest of each class). Otherwise as
    /// <see cref="Evaluate(nn.Module{Tensor, Tensor}, IGroupDataset, int, Device?, IReadOnlyList{long}?)"/>.
    /// </summary>
    /// <param name="model">The classifier, producing logits [B, C].</param>
    /// <param name="dataset">The split to evaluate.</param>
    /// <param name="groups">A group assignment of <paramref name="dataset"/>; the evaluator's scheme must have its group count (build the evaluator with <see cref="GroupAssignment.Scheme"/>).</param>
    /// <param name="batchSize">Evaluation batch size (default 256).</param>
    /// <param name="device">Device to move inputs to; null keeps the dataset's device.</param>
    /// <exception cref="ArgumentException">The assignment does not index the dataset, or its group structure differs from the evaluator's.</exception>
    public EvaluationResult Evaluate(nn.Module<Tensor, Tensor> model, IGroupDataset dataset, GroupAssignment groups, int batchSize = 256, Device? device = null)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(dataset);
        ArgumentNullException.ThrowIfNull(groups);
        groups.EnsureMatches(dataset, nameof(groups));
        if (groups.NumClasses != Scheme.NumClasses || groups.NumGroups != Scheme.NumGroups)
            throw new ArgumentException($"The group assignment has {groups.NumClasses} classes and {groups.NumGroups} groups but the evaluator's scheme has {Scheme.NumClasses} and {Scheme.NumGroups}; create the evaluator with the assignment's Scheme.", nameof(groups));
        return Run(model, dataset, batchSize, device, null, groups);
    }

    private EvaluationResult Run(nn.Module<Tensor, Tensor> model, IGroupDataset dataset, int batchSize, Device? device,
        IReadOnlyList<long>? trainGroupCounts, GroupAssignment? assigned)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(batchSize, 1);
        using var use = _use.Enter();
        Reset();
        CheckDataset(dataset, assigned);
        using (TrainingModes.Evaluating(model))
        {
            using var noGrad = torch.no_grad();
            foreach (var batch in dataset.Batches(batchSize))
            {
                using var scope = NewDisposeScope();
                AddPass(model, batch, device, assigned);
            }
        }
        return Compute(trainGroupCounts);
    }

    /// <summary>
    /// One batch of an evaluation pass (eval mode and no_grad are the caller's): the model's logits, the labels and the
    /// groups (the assignment's, or the batch's own) on the target device. The labels and groups come from the dataset,
    /// checked once for the pass (<see cref="CheckDataset"/>); only the model's output is checked per batch.
    /// </summary>
    private void AddPass(nn.Module<Tensor, Tensor> model, Batch batch, Device? device, GroupAssignment? assigned)
    {
        var x = device is null ? batch.Inputs : batch.Inputs.to(device);
        var logits = model.call(x);
        var y = device is null ? batch.Labels : batch.Labels.to(device);
        var g = assigned is not null ? assigned.GroupTensor(batch.Indices, y.device)
            : batch.Groups is null ? null : device is null ? batch.Groups : batch.Groups.to(device);
        Guard.ModelLogits(logits, Scheme.NumClasses, nameof(model));
        Guard.Length(logits, y.shape[0], "logits", "labels");
        Guard.Floating(logits, "logits");
        Guard.SameDevice(logits, "logits", y, "labels");
        if (y.shape[0] > 0) Accumulate(logits, y, g, y.shape[0]);
    }

    /// <summary>
    /// The pass's labels and groups, checked once on the host (the dataset's arrays, which its batches carry): every label
    /// in [0, C), every group id in [0, G) and in its label's class. An assignment was checked when it was made.
    /// </summary>
    private void CheckDataset(IGroupDataset dataset, GroupAssignment? assigned)
    {
        var labels = dataset.Labels.Span;
        for (int i = 0; i < labels.Length; i++)
            if ((uint)labels[i] >= (uint)Scheme.NumClasses)
                throw new ArgumentOutOfRangeException(nameof(dataset), labels[i], $"The dataset's label at row {i} is {labels[i]}; expected values in [0, {Scheme.NumClasses - 1}].");
        if (assigned is null && dataset.HasGroups)
            Guard.GroupsMatchLabels(labels, dataset.Groups.Span, Scheme.NumGroups, Scheme.NumAttributes, nameof(dataset));
    }

    /// <summary>Clears the accumulated state (frees its tensors).</summary>
    public void Reset()
    {
        using var use = _use.Enter();
        foreach (var t in _outcomes.Concat(_probabilities).Concat(_probabilityLabels)) t.Dispose();
        _outcomes.Clear();
        _probabilities.Clear();
        _probabilityLabels.Clear();
        _groupTotal?.Dispose();
        _groupCorrect?.Dispose();
        _classTotal?.Dispose();
        _classCorrect?.Dispose();
        _classPredicted?.Dispose();
        _groupTotal = _groupCorrect = _classTotal = _classCorrect = _classPredicted = null;
        _hasGroups = null;
        _count = 0;
    }

    /// <summary>Frees the accumulated state; every later call throws <see cref="ObjectDisposedException"/>.</summary>
    public void Dispose()
    {
        Reset();
        _use.Dispose();
    }

    private void EnsureState(Device device, bool withGroups)
    {
        if (_classTotal is not null) return;
        _classTotal = torch.zeros(Scheme.NumClasses, ScalarType.Int64, device).DetachFromDisposeScope();
        _classCorrect = torch.zeros(Scheme.NumClasses, ScalarType.Int64, device).DetachFromDisposeScope();
        _classPredicted = torch.zeros(Scheme.NumClasses, ScalarType.Int64, device).DetachFromDisposeScope();
        if (withGroups)
        {
            _groupTotal = torch.zeros(Scheme.NumGroups, ScalarType.Int64, device).DetachFromDisposeScope();
            _groupCorrect = torch.zeros(Scheme.NumGroups, ScalarType.Int64, device).DetachFromDisposeScope();
        }
    }

    private void CheckConsistent(Tensor groups, Tensor labels)
    {
        if (groups.device_type != DeviceType.CPU) return;
        using var scope = NewDisposeScope();
        var mismatch = groups.to(ScalarType.Int64).div(Scheme.NumAttributes, rounding_mode: RoundingMode.floor).ne(labels.to(ScalarType.Int64));
        if (mismatch.any().ToBoolean())
        {
            long i = mismatch.nonzero()[0, 0].ToInt64();
            throw new ArgumentException($"'groups' is inconsistent with 'labels' at row {i}: group {groups[i].ToInt64()} belongs to class {groups[i].ToInt64() / Scheme.NumAttributes} but the label is {labels[i].ToInt64()} (g = y * {Scheme.NumAttributes} + a).", nameof(groups));
        }
    }

    private void Consolidate()
    {
        Consolidate(_outcomes);
        if (_probabilities.Count > 0)
        {
            Consolidate(_probabilities);
            Consolidate(_probabilityLabels);
        }
    }

    private static void Consolidate(List<Tensor> parts)
    {
        using var scope = NewDisposeScope();
        var merged = torch.cat(parts, 0).DetachFromDisposeScope();
        foreach (var t in parts) t.Dispose();
        parts.Clear();
        parts.Add(merged);
    }

    private int[] HostOutcomes()
    {
        if (_outcomes.Count == 0) return [];
        using var scope = NewDisposeScope();
        return torch.cat(_outcomes, 0).cpu().data<int>().ToArray();
    }

    private (ConfidenceInterval? Average, ConfidenceInterval? Worst) Bootstrap(int[] outcomes, bool hasGroups)
    {
        int k = hasGroups ? Scheme.NumGroups : Scheme.NumClasses;
        var rng = new ReproducibleRandom(_options.BootstrapSeed);
        var averages = new double[_options.BootstrapSamples];
        var worsts = new double[_options.BootstrapSamples];
        var total = new long[k];
        var correct = new long[k];
        int n = outcomes.Length;
        for (int r = 0; r < averages.Length; r++)
        {
            Array.Clear(total);
            Array.Clear(correct);
            long hits = 0;
            for (int i = 0; i < n; i++)
            {
                int o = outcomes[rng.Next(n)];
                total[o >> 1]++;
                correct[o >> 1] += o & 1;
                hits += o & 1;
            }
            averages[r] = (double)hits / n;
            double worst = double.PositiveInfinity;
            for (int g = 0; g < k; g++)
                if (total[g] > 0) worst = Math.Min(worst, (double)correct[g] / total[g]);
            worsts[r] = worst;
        }
        double lo = (1 - _options.ConfidenceLevel) / 2, hi = 1 - lo;
        var avgCi = new ConfidenceInterval(Statistics.Quantile(averages, lo), Statistics.Quantile(averages, hi), _options.ConfidenceLevel);
        var worstCi = hasGroups
            ? new ConfidenceInterval(Statistics.Quantile(worsts, lo), Statistics.Quantile(worsts, hi), _options.ConfidenceLevel)
            : null;
        return (avgCi, worstCi);
    }

    private static int? ArgMinNonEmpty(long[] total, long[] correct)
    {
        int? best = null;
        double bestAcc = double.PositiveInfinity;
        for (int i = 0; i < total.Length; i++)
        {
            if (total[i] == 0) continue;
            double acc = (double)correct[i] / total[i];
            if (acc < bestAcc)
            {
                bestAcc = acc;
                best = i;
            }
        }
        return best;
    }

    private static long[] ToHost(Tensor t)
    {
        using var scope = NewDisposeScope();
        return t.cpu().data<long>().ToArray();
    }
}
