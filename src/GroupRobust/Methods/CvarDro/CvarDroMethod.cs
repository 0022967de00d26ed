using System.Globalization;
using GroupRobust.Data;
using GroupRobust.Groups;
using GroupRobust.Methods;
using GroupRobust.Randomness;
using static TorchSharp.torch;
using GroupRobust.Sampling;

namespace GroupRobust.Methods;

/// <summary>
/// CVaR-DRO (Levy et al., 2020), the group-free baseline of the JTT and JM1 tables: shuffled epochs, and per batch the
/// mean of the ceil(alpha B) largest per-sample losses (<see cref="CvarDroLoss"/>).
/// </summary>
public sealed class CvarDroMethod : TrainingMethod
{

    /// <summary>Creates the method.</summary>
    /// <param name="train">The training split.</param>
    /// <param name="seeds">Seed source of the epoch orders.</param>
    /// <param name="alpha">CVaR level in (0, 1]; 1 is ERM. The JTT paper's grid: 0.1, 0.2, 0.5.</param>
    public CvarDroMethod(IGroupDataset train, SeedSource seeds, double alpha)
        : base("cvar-dro", (train ?? throw new ArgumentNullException(nameof(train))).Count, seeds)
    {
        if (!(alpha > 0 && alpha <= 1)) throw new ArgumentOutOfRangeException(nameof(alpha), alpha, "The CVaR level must be in (0, 1].");
        Alpha = alpha;
        UseSampler(seed => new ShuffleSampler(train.Count, seed));
    }

    /// <summary>The CVaR level.</summary>
    public double Alpha { get; }

    /// <inheritdoc />
    public override string Name => string.Create(CultureInfo.InvariantCulture, $"CVaR-DRO (α={Alpha:G})");

    /// <inheritdoc />
    public override LabelBudget LabelBudget => LabelBudget.None;

    /// <inheritdoc />
    protected override Tensor BatchLoss(nn.Module<Tensor, Tensor> model, Batch batch)
        => CvarDroLoss.Compute(nn.functional.cross_entropy(model.call(batch.Inputs), batch.Labels, reduction: nn.Reduction.None), Alpha);
}
