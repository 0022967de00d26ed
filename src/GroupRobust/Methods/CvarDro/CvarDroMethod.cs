using System.Globalization;
using GroupRobust.Data;
using GroupRobust.Groups;
using GroupRobust.Methods;
using GroupRobust.Randomness;
using static TorchSharp.torch;
using GroupRobust.Sampling;

namespace GroupRobust.Methods;

/// <summary>
/// CVaR-DRO (Levy et al., 2020), the group-free baseline of the JTT and JM1 tables: an epoch order (shuffled by default; see <see cref="CvarDroOptions"/>), and per batch the
/// mean of the ceil(alpha B) largest per-sample losses (<see cref="CvarDroLoss"/>).
/// </summary>
public sealed class CvarDroMethod : TrainingMethod
{

    /// <summary>Creates the method.</summary>
    /// <param name="train">The training split.</param>
    /// <param name="seeds">Seed source of the epoch orders.</param>
    /// <param name="alpha">CVaR level in (0, 1]; 1 is ERM. The JTT paper's grid: 0.1, 0.2, 0.5.</param>
    public CvarDroMethod(IGroupDataset train, SeedSource seeds, double alpha)
        : this(train, seeds, new CvarDroOptions { Alpha = CheckLevel(alpha, nameof(alpha)) })
    {
    }

    /// <summary>Creates the method with every option.</summary>
    /// <param name="train">The training split.</param>
    /// <param name="seeds">Seed source of the epoch orders.</param>
    /// <param name="options">The CVaR level and the epoch order; the defaults when null.</param>
    /// <exception cref="ArgumentOutOfRangeException">The level is outside (0, 1].</exception>
    /// <exception cref="ArgumentException">The order's groups were made for another split (another size or other labels).</exception>
    public CvarDroMethod(IGroupDataset train, SeedSource seeds, CvarDroOptions? options)
        : base("cvar-dro", (train ?? throw new ArgumentNullException(nameof(train))).Labels, seeds)
    {
        Options = options ?? new CvarDroOptions();
        CheckLevel(Options.Alpha, nameof(CvarDroOptions.Alpha));
        ArgumentNullException.ThrowIfNull(Options.Order, nameof(options));
        int n = train.Count;
        Options.Order.EnsureFits(train, nameof(options));
        UseSampler(seed => Options.Order.CreateSampler(n, seed));
    }

    /// <summary>The options in use.</summary>
    public CvarDroOptions Options { get; }

    private static double CheckLevel(double alpha, string name)
        => alpha > 0 && alpha <= 1 ? alpha : throw new ArgumentOutOfRangeException(name, alpha, "The CVaR level must be in (0, 1].");

    /// <summary>The CVaR level.</summary>
    public double Alpha => Options.Alpha;

    /// <inheritdoc />
    public override string Name => string.Create(CultureInfo.InvariantCulture, $"CVaR-DRO (α={Alpha:G}{(Options.Order.Description.Length > 0 ? ", " + Options.Order.Description : "")})");

    /// <inheritdoc />
    public override LabelBudget LabelBudget => Options.Order.LabelBudget;

    /// <inheritdoc />
    protected override Tensor BatchLoss(nn.Module<Tensor, Tensor> model, Batch batch)
        => CvarDroLoss.Compute(nn.functional.cross_entropy(model.call(batch.Inputs), batch.Labels, reduction: nn.Reduction.None), Alpha);
}
