using System.Globalization;
using GroupRobust.Data;
using GroupRobust.Groups;
using GroupRobust.Internal;
using GroupRobust.Randomness;
using TorchSharp;
using static TorchSharp.torch;

namespace GroupRobust.Methods;

/// <summary>
/// Balanced softmax (Ren et al., 2020, "Balanced meta-softmax for long-tailed visual recognition"; SubpopBench's
/// BSoftmax): the cross entropy of the logits shifted by log n_y, the log of each class's training size, so that the
/// trained logits estimate the class-balanced posterior. Predictions are the plain logits. Reads the training labels'
/// class counts, no group labels. <see cref="BalancedSoftmaxOptions.Tau"/> scales the shift, tau log n_y (Menon et al.,
/// 2021, the logit-adjusted loss): 1 is the balanced softmax, 0 the cross-entropy.
/// </summary>
/// <remarks>
/// Follows SubpopBench's <c>BSoftmax</c> (YyzHarry/SubpopBench, <c>learning/algorithms.py</c>): class sizes summed over
/// the attribute. A class without training samples gets log 0 = -infinity: it never wins the shifted softmax, which is
/// what its prior of zero says (the reference does the same).
/// </remarks>
public sealed class BalancedSoftmaxMethod : TrainingMethod
{
    private readonly float[] _logCounts;

    /// <summary>Creates the method.</summary>
    /// <param name="train">The training split (its labels give the class sizes).</param>
    /// <param name="seeds">Seed source of the epoch orders.</param>
    /// <param name="options">The shift's scale tau and the epoch order; tau = 1 and shuffled epochs when null.</param>
    /// <exception cref="ArgumentOutOfRangeException">tau is negative, NaN or infinite.</exception>
    /// <exception cref="ArgumentException">The order's groups were made for another split (another size or other labels).</exception>
    public BalancedSoftmaxMethod(IGroupDataset train, SeedSource seeds, BalancedSoftmaxOptions? options = null)
        : base("bsoftmax", (train ?? throw new ArgumentNullException(nameof(train))).Labels, seeds)
    {
        Options = options ?? new BalancedSoftmaxOptions();
        if (!(Options.Tau >= 0 && double.IsFinite(Options.Tau)))
            throw new ArgumentOutOfRangeException(nameof(options), Options.Tau, "BalancedSoftmaxOptions.Tau must be a finite number of at least 0.");
        ArgumentNullException.ThrowIfNull(Options.Order, nameof(options));
        int n = train.Count;
        Options.Order.EnsureFits(train, nameof(options));
        ClassCounts = ClassSizes.Of(train.Labels.Span, train.Scheme.NumClasses);
        // tau log n_y; an empty class keeps -infinity at any tau above 0, and at tau = 0 the shift is 0 for every class
        _logCounts = ClassCounts.Select(c => Options.Tau == 0 ? 0f : (float)(Options.Tau * Math.Log(c))).ToArray();
        UseSampler(seed => Options.Order.CreateSampler(n, seed));
    }

    /// <summary>The options in use.</summary>
    public BalancedSoftmaxOptions Options { get; }

    /// <summary>The number of training samples of each class (their logs, times tau, shift the logits).</summary>
    public IReadOnlyList<long> ClassCounts { get; }

    /// <inheritdoc />
    public override string Name
    {
        get
        {
            var parts = new List<string>();
            if (Options.Tau != 1) parts.Add(string.Create(CultureInfo.InvariantCulture, $"τ={Options.Tau:G}"));
            if (Options.Order.Description.Length > 0) parts.Add(Options.Order.Description);
            return parts.Count == 0 ? "Balanced softmax" : $"Balanced softmax ({string.Join(", ", parts)})";
        }
    }

    /// <inheritdoc />
    public override LabelBudget LabelBudget => Options.Order.LabelBudget;

    /// <inheritdoc />
    protected override Tensor BatchLoss(nn.Module<Tensor, Tensor> model, Batch batch)
    {
        var logits = model.call(batch.Inputs).to(ScalarType.Float32);
        var shift = HostUpload.Float32(_logCounts, logits.device);
        return nn.functional.cross_entropy(logits.add(shift), batch.Labels);
    }

    /// <inheritdoc />
    private protected override void CheckParts()
    {
    }

    /// <inheritdoc />
    /// <remarks>The mean of the part's per-row losses (a global batch's parts average to its mean).</remarks>
    private protected override Tensor PartLoss(nn.Module<Tensor, Tensor> model, Batch batch, GlobalBatch global)
        => batch.Size == 0 ? EmptyPartLoss(batch) : BatchLoss(model, batch);
}
