using System.Globalization;
using GroupRobust.Data;
using GroupRobust.Groups;
using GroupRobust.Internal;
using GroupRobust.Randomness;
using TorchSharp;
using static TorchSharp.torch;

namespace GroupRobust.Methods;

/// <summary>
/// Label-distribution-aware margin loss (Cao et al., 2019, "Learning imbalanced datasets with label-distribution-aware
/// margin loss"; SubpopBench's LDAM): the true class's logit is lowered by a margin m_y proportional to n_y^(-1/4), the
/// largest margin (<see cref="LdamOptions.MaxMargin"/>) for the smallest class, and the cross entropy is taken of the
/// logits scaled by s. Reads the training labels' class counts, no group labels.
/// </summary>
/// <remarks>
/// Follows SubpopBench's <c>LDAM</c> (YyzHarry/SubpopBench, <c>learning/algorithms.py</c>): class sizes summed over the
/// attribute, no deferred re-weighting (the paper's DRW schedule is not part of it). A class without training samples
/// gets margin 0. Predictions are the plain logits.
/// </remarks>
public sealed class LdamMethod : TrainingMethod
{
    private readonly float[] _margins;

    /// <summary>Creates the method.</summary>
    /// <param name="train">The training split (its labels give the class sizes).</param>
    /// <param name="seeds">Seed source of the epoch orders.</param>
    /// <param name="options">The margin, the scale and the epoch order; the defaults when null.</param>
    /// <exception cref="ArgumentOutOfRangeException">The margin is not a finite number of at least 0, or the scale not one above 0.</exception>
    /// <exception cref="ArgumentException">The order's groups were made for another split (another size or other labels).</exception>
    public LdamMethod(IGroupDataset train, SeedSource seeds, LdamOptions? options = null)
        : base("ldam", (train ?? throw new ArgumentNullException(nameof(train))).Labels, seeds)
    {
        Options = options ?? new LdamOptions();
        if (!(Options.MaxMargin >= 0 && double.IsFinite(Options.MaxMargin)))
            throw new ArgumentOutOfRangeException(nameof(options), Options.MaxMargin, "LdamOptions.MaxMargin must be a finite number of at least 0.");
        if (!(Options.Scale > 0 && double.IsFinite(Options.Scale)))
            throw new ArgumentOutOfRangeException(nameof(options), Options.Scale, "LdamOptions.Scale must be a finite number above 0.");
        ArgumentNullException.ThrowIfNull(Options.Order, nameof(options));
        int n = train.Count;
        Options.Order.EnsureFits(train, nameof(options));
        Margins = ClassMargins(ClassSizes.Of(train.Labels.Span, train.Scheme.NumClasses), Options.MaxMargin);
        _margins = Margins.Select(m => (float)m).ToArray();
        UseSampler(seed => Options.Order.CreateSampler(n, seed));
    }

    /// <summary>The options in use.</summary>
    public LdamOptions Options { get; }

    /// <summary>The margin m_c of each class c: n_c^(-1/4) scaled so that the largest is <see cref="LdamOptions.MaxMargin"/>; 0 for a class without training samples.</summary>
    public IReadOnlyList<double> Margins { get; }

    /// <inheritdoc />
    public override string Name => string.Create(CultureInfo.InvariantCulture, $"LDAM (m={Options.MaxMargin:G}, s={Options.Scale:G}{(Options.Order.Description.Length > 0 ? ", " + Options.Order.Description : "")})");

    /// <inheritdoc />
    public override LabelBudget LabelBudget => Options.Order.LabelBudget;

    /// <summary>n_c^(-1/4) scaled to a largest value of <paramref name="maxMargin"/>; 0 for an empty class.</summary>
    internal static double[] ClassMargins(long[] counts, double maxMargin)
    {
        var raw = counts.Select(n => n == 0 ? 0.0 : 1.0 / Math.Sqrt(Math.Sqrt(n))).ToArray();
        double max = raw.Max();
        return raw.Select(m => m * (maxMargin / max)).ToArray();
    }

    /// <inheritdoc />
    protected override Tensor BatchLoss(nn.Module<Tensor, Tensor> model, Batch batch)
    {
        var logits = model.call(batch.Inputs).to(ScalarType.Float32);
        var labels = batch.Labels.to(ScalarType.Int64);
        var margins = HostUpload.Float32(_margins, logits.device);
        // subtract m_y from the true class's logit only, then scale
        var shifted = logits.scatter_add(1, labels.unsqueeze(1), margins.index_select(0, labels).neg().unsqueeze(1));
        return nn.functional.cross_entropy(shifted.mul(Options.Scale), labels);
    }

    /// <inheritdoc />
    private protected override void CheckParts()
    {
    }

    /// <inheritdoc />
    /// <remarks>The mean of the part's per-row margin losses (a global batch's parts average to its mean).</remarks>
    private protected override Tensor PartLoss(nn.Module<Tensor, Tensor> model, Batch batch, GlobalBatch global)
        => batch.Size == 0 ? EmptyPartLoss(batch) : BatchLoss(model, batch);
}
