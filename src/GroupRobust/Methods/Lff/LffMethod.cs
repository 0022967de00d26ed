using GroupRobust.Internal;
using System.Globalization;
using GroupRobust.Data;
using GroupRobust.Groups;
using GroupRobust.Identification;
using GroupRobust.Methods;
using GroupRobust.Randomness;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using TorchSharp;
using static TorchSharp.torch;
using GroupRobust.Sampling;

namespace GroupRobust.Methods;

/// <summary>
/// Learning from Failure (LfF; Nam et al., NeurIPS 2020): a biased and a debiased network trained together on an
/// <see cref="LffModel"/>. The biased network f_B learns the shortcut through generalized cross entropy; the debiased
/// network f_D weights every sample by how much harder it is for f_B than for f_D: W(x) = L_B / (L_B + L_D).
/// No group labels. <see cref="LffOptions.Reweight"/> = false weighs every sample 1 (the debiased network trains as ERM
/// does), the off setting of <see cref="LffOptions.SearchGrid"/>.
/// </summary>
/// <remarks>
/// <para>Per batch, as in the reference (alinlab/LfF train.py): both networks run forward; their detached per-sample
/// cross entropies update one loss average per sample and network, e_i &lt;- beta e_i + (1 - beta) l_i (the first visit
/// stores l_i; beta = <see cref="LffOptions.EmaDecay"/>); each average is divided by the largest average of its class
/// over the whole training set (class-wise normalisation); W_i = e~_B,i / (e~_B,i + e~_D,i + 1e-8), detached; the loss is
/// mean GCE(f_B) + mean W_i CE(f_D(x_i), y_i), one backward for both networks.</para>
/// <para>State: the two N-long averages and the N seen-flags live on the batch's device (no host synchronisation per
/// batch; the class maxima are recomputed on the device from the whole array each batch, O(N)) and are saved and
/// restored with <see cref="TrainingMethod.GetState"/> / <see cref="TrainingMethod.SetState"/>. A batch must not hold a
/// sample twice (each sample has one average). Epochs are shuffled once each (the reference draws shuffled batches).</para>
/// <para>Cost: two forward and backward passes per batch, about twice ERM's epoch (docs/performance.md).</para>
/// </remarks>
public sealed class LffMethod : TrainingMethod
{
    private readonly int[] _labels;
    private readonly int _classes;
    private readonly ILogger _logger;
    private Tensor? _emaBiased, _emaDebiased, _seen, _labelsOnDevice, _classTable;
    private double _weightSum;
    private Tensor? _weightSumDevice;

    /// <summary>Creates the method.</summary>
    /// <param name="train">The training split (its labels are read; never its groups).</param>
    /// <param name="seeds">Seed source of the epoch orders (stream "order").</param>
    /// <param name="options">q, the loss-average decay and the GCE form; the reference defaults when null.</param>
    /// <param name="logger">Receives the per-epoch mean weight.</param>
    public LffMethod(IGroupDataset train, SeedSource seeds, LffOptions? options = null, ILogger? logger = null)
        : base("lff", (train ?? throw new ArgumentNullException(nameof(train))).Labels, seeds)
    {
        Options = options ?? new LffOptions();
        Options.Validate();
        _labels = train.Labels.ToArray();
        _classes = train.Scheme.NumClasses;
        _logger = logger ?? NullLogger.Instance;
        UseSampler(seed => new ShuffleSampler(train.Count, seed));
        Track("lff/", new ResumablePart(WriteAverages, ReadAverages));
    }

    /// <summary>The options in use.</summary>
    public LffOptions Options { get; }

    /// <inheritdoc />
    public override string Name => !Options.Reweight ? "LfF (no reweighting)"
        : Options.Q == new LffOptions().Q ? "LfF" : string.Create(CultureInfo.InvariantCulture, $"LfF (q={Options.Q:G})");

    /// <inheritdoc />
    public override LabelBudget LabelBudget => LabelBudget.None;

    /// <summary>
    /// The current relative-difficulty weight W_i of every training sample, from the loss averages (class-wise
    /// normalised, as in a training step); 0 for samples not seen yet. Host values, for inspection (copies from the device).
    /// </summary>
    public double[] SampleWeights()
    {
        using var call = EnterCall();
        if (_emaBiased is null) return new double[DatasetSize];
        EnsureBuffers(_emaBiased.device);
        using var scope = NewDisposeScope();
        var all = torch.arange(DatasetSize, ScalarType.Int64, _emaBiased.device);
        using var noGrad = torch.no_grad();
        return Weights(all, _emaBiased, _emaDebiased!).to(ScalarType.Float64).cpu().data<double>().ToArray();
    }

    /// <summary>The per-sample loss averages of the biased and the debiased network (host copies; 0 where not seen).</summary>
    public (double[] Biased, double[] Debiased) LossAverages()
    {
        using var call = EnterCall();
        if (_emaBiased is null) return (new double[DatasetSize], new double[DatasetSize]);
        using var scope = NewDisposeScope();
        return (_emaBiased.to(ScalarType.Float64).cpu().data<double>().ToArray(), _emaDebiased!.to(ScalarType.Float64).cpu().data<double>().ToArray());
    }

    /// <inheritdoc />
    /// <exception cref="ArgumentException"><paramref name="model"/> is not an <see cref="LffModel"/>, or the batch holds a sample twice.</exception>
    protected override Tensor BatchLoss(nn.Module<Tensor, Tensor> model, Batch batch)
    {
        if (model is not LffModel pair)
            throw new ArgumentException($"LfF trains a biased and a debiased network together: pass an LffModel(debiased, biased) (got {model.GetType().Name}).", nameof(model));
        var seenInBatch = new HashSet<long>();
        foreach (var i in batch.Indices)
            if (!seenInBatch.Add(i))
                throw new ArgumentException($"The batch holds sample {i} twice; LfF keeps one loss average per sample, so a batch must hold each sample at most once.", nameof(batch));

        var zb = pair.Biased.call(batch.Inputs);
        var zd = pair.Debiased.call(batch.Inputs);
        var y = batch.Labels.to(zd.device);
        EnsureBuffers(zd.device);
        var index = HostUpload.Int64(batch.Indices, zd.device);
        var ceD = nn.functional.cross_entropy(zd, y, reduction: nn.Reduction.None);
        Tensor w;
        using (torch.no_grad())
        {
            // a repeated evaluation (SAM's second) keeps the averages and weights the first one left
            if (!Repeating)
            {
                Update(_emaBiased!, index, PreciseCrossEntropy(zb, y));
                Update(_emaDebiased!, index, PreciseCrossEntropy(zd, y));
                _seen!.index_fill_(0, index, true);
            }
            w = Options.Reweight ? Weights(index, _emaBiased!, _emaDebiased!) : torch.ones(index.shape[0], ScalarType.Float64, zd.device);
            if (!Repeating) _weightSumDevice!.add_(w.sum().to(ScalarType.Float64));
        }
        var biasedLoss = GeneralizedCrossEntropy.PerSample(zb, y, Options.Q, Options.ExactGce).mean();
        var debiasedLoss = (ceD * w.to(ceD.dtype)).mean();
        return biasedLoss + debiasedLoss.to(biasedLoss.dtype);
    }

    /// <summary>
    /// The per-sample cross entropy that feeds the loss averages, in float64 and without cancellation:
    /// log1p(sum_{k != y} exp(z_k - z_y)) when the sample is classified correctly, the log-sum-exp otherwise. The ordinary
    /// float32 cross entropy is exactly 0 once a logit margin exceeds about 17, and a confidently fitted sample must keep
    /// a small positive loss: with exact zeros, W = 0 for a whole majority group that the biased network fits perfectly,
    /// while the other class's majority keeps tiny weights, and the debiased network collapses (docs/algorithms.md).
    /// </summary>
    private static Tensor PreciseCrossEntropy(Tensor logits, Tensor labels)
    {
        var z = logits.detach().to(ScalarType.Float64);
        var d = z - z.gather(1, labels.unsqueeze(1));                                   // d_y = 0
        var others = d.masked_fill(nn.functional.one_hot(labels, z.shape[1]).to(ScalarType.Bool), double.NegativeInfinity); // exclude k = y
        var m = others.amax([1]);
        var correct = torch.log1p(others.exp().sum(1));                                  // all d_k < 0: no cancellation
        var general = m + torch.log((-m).exp() + (others - m.unsqueeze(1)).exp().sum(1)); // log-sum-exp with d_y = 0
        return torch.where(m.lt(0), correct, general);
    }

    /// <summary>e_i &lt;- beta e_i + (1 - beta) l_i for seen samples, e_i &lt;- l_i on the first visit.</summary>
    private void Update(Tensor ema, Tensor index, Tensor loss)
    {
        var old = ema.index_select(0, index);
        var seen = _seen!.index_select(0, index);
        var updated = torch.where(seen, old * Options.EmaDecay + loss * (1 - Options.EmaDecay), loss);
        ema.index_copy_(0, index, updated);
    }

    /// <summary>W = e~_B / (e~_B + e~_D + 1e-8) for <paramref name="index"/>, each average divided by its class's largest.</summary>
    private Tensor Weights(Tensor index, Tensor emaB, Tensor emaD)
    {
        var labels = _labelsOnDevice!.index_select(0, index);
        var nb = emaB.index_select(0, index) / ClassMax(emaB).index_select(0, labels).clamp_min(1e-30);
        var nd = emaD.index_select(0, index) / ClassMax(emaD).index_select(0, labels).clamp_min(1e-30);
        return nb / (nb + nd + 1e-8);
    }

    /// <summary>
    /// The largest loss average of every class over the whole training set (never-seen samples count as 0, as in the
    /// reference): one gather into a [C, largest class] table padded with a 0 slot, then a row-wise max, on the device.
    /// </summary>
    private Tensor ClassMax(Tensor ema)
        => torch.cat([ema, torch.zeros(1, ema.dtype, ema.device)]).index_select(0, _classTable!.flatten()).view(_classTable!.shape).amax([1]);

    private void EnsureBuffers(Device device)
    {
        if (_emaBiased is null)
        {
            _emaBiased = torch.zeros(DatasetSize, ScalarType.Float64).DetachFromDisposeScope();
            _emaDebiased = torch.zeros(DatasetSize, ScalarType.Float64).DetachFromDisposeScope();
            _seen = torch.zeros(DatasetSize, ScalarType.Bool).DetachFromDisposeScope();
        }
        _labelsOnDevice ??= torch.tensor(_labels.Select(l => (long)l).ToArray(), ScalarType.Int64).DetachFromDisposeScope();
        _classTable ??= ClassTable().DetachFromDisposeScope();
        _weightSumDevice ??= torch.zeros(1, ScalarType.Float64).DetachFromDisposeScope();
        // Device has no value equality: compare type and index
        if (!On(_emaBiased, device))
        {
            Move(ref _emaBiased, device);
            Move(ref _emaDebiased!, device);
            Move(ref _seen!, device);
        }
        if (!On(_labelsOnDevice, device)) Move(ref _labelsOnDevice, device);
        if (!On(_classTable, device)) Move(ref _classTable, device);
        if (!On(_weightSumDevice, device)) Move(ref _weightSumDevice, device);
    }

    /// <summary>Row c lists the samples of class c, padded with N (the index of an appended 0).</summary>
    private Tensor ClassTable()
    {
        var members = Enumerable.Range(0, _classes).Select(c => new List<long>()).ToArray();
        for (int i = 0; i < _labels.Length; i++) members[_labels[i]].Add(i);
        int width = Math.Max(1, members.Max(m => m.Count));
        var table = new long[_classes * width];
        Array.Fill(table, DatasetSize);
        for (int c = 0; c < _classes; c++)
            for (int j = 0; j < members[c].Count; j++) table[c * width + j] = members[c][j];
        return torch.tensor(table, ScalarType.Int64).view(_classes, width);
    }

    private static bool On(Tensor t, Device device) => t.device_type == device.type && t.device_index == device.index;

    private static void Move(ref Tensor t, Device device)
    {
        var moved = t.to(device).DetachFromDisposeScope();
        t.Dispose();
        t = moved;
    }

    /// <inheritdoc />
    protected override MethodEpochSummary Summarize(MethodEpochSummary summary)
    {
        // one host read per epoch, at the epoch's natural sync point
        if (_weightSumDevice is not null)
        {
            _weightSum = ReadWeightSum();
            using var scope = NewDisposeScope();
            _weightSumDevice.zero_();
        }
        double mean = summary.Samples == 0 ? double.NaN : _weightSum / summary.Samples;
        _logger.LogInformation("LfF epoch {Epoch}: mean sample weight W {Mean:F3} over {Samples} samples.", summary.Epoch, mean, summary.Samples);
        _weightSum = 0;
        return summary;
    }

    /// <summary>Writes the loss averages, the seen-flags and the epoch's weight sum (the method's state part "lff/").</summary>
    private void WriteAverages(IDictionary<string, double[]> values, string prefix)
    {
        var (b, d) = LossAverages();
        values[prefix + "ema-biased"] = b;
        values[prefix + "ema-debiased"] = d;
        if (_seen is null)
        {
            values[prefix + "seen"] = new double[DatasetSize];
        }
        else
        {
            using var scope = NewDisposeScope();
            values[prefix + "seen"] = _seen.to(ScalarType.Float64).cpu().data<double>().ToArray();
        }
        values[prefix + "weight-sum"] = [_weightSumDevice is null ? 0 : ReadWeightSum()];
    }

    private double ReadWeightSum()
    {
        using var scope = NewDisposeScope();
        return _weightSumDevice!.to(ScalarType.Float64).cpu().item<double>();
    }

    /// <summary>Checks what <see cref="WriteAverages"/> wrote and returns the action restoring it.</summary>
    private Action ReadAverages(IReadOnlyDictionary<string, double[]> values, string prefix)
    {
        double[] Entry(string name, int length) => StateEntries.Get(values, prefix + name, length, "this LfF method");
        var b = Entry("ema-biased", DatasetSize);
        var d = Entry("ema-debiased", DatasetSize);
        var seen = Entry("seen", DatasetSize);
        var weightSum = Entry("weight-sum", 1)[0];
        for (int i = 0; i < DatasetSize; i++)
        {
            if (!(b[i] >= 0 && double.IsFinite(b[i])) || !(d[i] >= 0 && double.IsFinite(d[i])))
                throw new ArgumentException(string.Create(CultureInfo.InvariantCulture, $"The state's LfF loss average of sample {i} is not a finite number >= 0 (biased {b[i]}, debiased {d[i]})."), "state");
            if (seen[i] is not (0 or 1))
                throw new ArgumentException(string.Create(CultureInfo.InvariantCulture, $"The state's LfF seen-flag of sample {i} is {seen[i]}; expected 0 or 1."), "state");
        }
        if (!double.IsFinite(weightSum)) throw new ArgumentException("The state's LfF weight sum is not finite.", "state");
        return () =>
        {
            var device = _emaBiased?.device ?? CPU;
            DisposeBuffers();
            // made on the device directly: a host tensor moved with .to() would be a second handle left to the finaliser
            _emaBiased = torch.tensor(b, ScalarType.Float64, device).DetachFromDisposeScope();
            _emaDebiased = torch.tensor(d, ScalarType.Float64, device).DetachFromDisposeScope();
            _seen = torch.tensor(seen.Select(s => s != 0).ToArray(), device: device).DetachFromDisposeScope();
            _weightSumDevice = torch.tensor(new[] { weightSum }, ScalarType.Float64, device).DetachFromDisposeScope();
        };
    }

    private void DisposeBuffers()
    {
        _emaBiased?.Dispose();
        _emaDebiased?.Dispose();
        _seen?.Dispose();
        _weightSumDevice?.Dispose();
        _emaBiased = _emaDebiased = _seen = _weightSumDevice = null;
    }

    /// <inheritdoc />
    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            DisposeBuffers();
            _labelsOnDevice?.Dispose();
            _classTable?.Dispose();
            _labelsOnDevice = _classTable = null;
        }
        base.Dispose(disposing);
    }
}
