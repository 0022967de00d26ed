using System.Globalization;
using GroupRobust.Data;
using GroupRobust.Groups;
using GroupRobust.Randomness;
using TorchSharp;
using static TorchSharp.torch;

namespace GroupRobust.Methods;

/// <summary>
/// Focal loss (Lin et al., 2017, "Focal loss for dense object detection"; SubpopBench's Focal): the mean over the batch
/// of (1 - p_i)^gamma CE_i, where p_i = exp(-CE_i) is the probability of the true class, so well-classified samples
/// weigh less. Reads no group labels.
/// </summary>
/// <remarks>Follows SubpopBench's <c>Focal.focal_loss</c> (YyzHarry/SubpopBench, <c>learning/algorithms.py</c>): no class-balancing alpha term.</remarks>
public sealed class FocalMethod : TrainingMethod
{
    /// <summary>Creates the method.</summary>
    /// <param name="train">The training split.</param>
    /// <param name="seeds">Seed source of the epoch orders.</param>
    /// <param name="options">gamma and the epoch order; the defaults when null.</param>
    /// <exception cref="ArgumentOutOfRangeException">gamma is negative, NaN or infinite.</exception>
    /// <exception cref="ArgumentException">The order's groups were made for another split (another size or other labels).</exception>
    public FocalMethod(IGroupDataset train, SeedSource seeds, FocalOptions? options = null)
        : base("focal", (train ?? throw new ArgumentNullException(nameof(train))).Labels, seeds)
    {
        Options = options ?? new FocalOptions();
        if (!(Options.Gamma >= 0 && double.IsFinite(Options.Gamma)))
            throw new ArgumentOutOfRangeException(nameof(options), Options.Gamma, "FocalOptions.Gamma must be a finite number of at least 0.");
        ArgumentNullException.ThrowIfNull(Options.Order, nameof(options));
        int n = train.Count;
        Options.Order.EnsureFits(train, nameof(options));
        UseSampler(seed => Options.Order.CreateSampler(n, seed));
    }

    /// <summary>The options in use.</summary>
    public FocalOptions Options { get; }

    /// <inheritdoc />
    public override string Name => string.Create(CultureInfo.InvariantCulture, $"Focal (γ={Options.Gamma:G}{(Options.Order.Description.Length > 0 ? ", " + Options.Order.Description : "")})");

    /// <inheritdoc />
    public override LabelBudget LabelBudget => Options.Order.LabelBudget;

    /// <inheritdoc />
    protected override Tensor BatchLoss(nn.Module<Tensor, Tensor> model, Batch batch)
    {
        var ce = nn.functional.cross_entropy(model.call(batch.Inputs), batch.Labels, reduction: nn.Reduction.None).to(ScalarType.Float32);
        // (1 - p)^gamma with p = exp(-CE): 1 - p = -expm1(-CE) keeps its digits for confident samples
        return ce.neg().expm1().neg().pow(Options.Gamma).mul(ce).mean();
    }

    /// <inheritdoc />
    private protected override void CheckParts()
    {
    }

    /// <inheritdoc />
    /// <remarks>The mean of the part's per-row focal terms (a global batch's parts average to its mean).</remarks>
    private protected override Tensor PartLoss(nn.Module<Tensor, Tensor> model, Batch batch, GlobalBatch global)
        => batch.Size == 0 ? EmptyPartLoss(batch) : BatchLoss(model, batch);
}
