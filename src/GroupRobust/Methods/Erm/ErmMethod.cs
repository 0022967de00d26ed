using GroupRobust.Data;
using GroupRobust.Groups;
using GroupRobust.Randomness;
using static TorchSharp.torch;

namespace GroupRobust.Methods;

/// <summary>
/// Empirical risk minimisation: mean cross entropy over an epoch order, by default a new random permutation every epoch.
/// The baseline every table starts from, and phase I of JTT and JM1; with a group-balanced order, group-balanced ERM.
/// </summary>
public sealed class ErmMethod : TrainingMethod
{
    /// <summary>Creates the method.</summary>
    /// <param name="train">The training split.</param>
    /// <param name="seeds">Seed source of the epoch orders (stream "order").</param>
    /// <param name="options">The epoch order; shuffled epochs when null.</param>
    /// <exception cref="ArgumentException">The order's groups were made for another split (another size or other labels).</exception>
    public ErmMethod(IGroupDataset train, SeedSource seeds, ErmOptions? options = null)
        : base("erm", (train ?? throw new ArgumentNullException(nameof(train))).Labels, seeds)
    {
        Options = options ?? new ErmOptions();
        ArgumentNullException.ThrowIfNull(Options.Order, nameof(options));
        int n = train.Count;
        Options.Order.EnsureFits(train, nameof(options));
        UseSampler(seed => Options.Order.CreateSampler(n, seed));
    }

    /// <summary>The options in use.</summary>
    public ErmOptions Options { get; }

    /// <inheritdoc />
    public override string Name => Options.Order.Description.Length == 0 ? "ERM" : $"ERM ({Options.Order.Description})";

    /// <inheritdoc />
    public override LabelBudget LabelBudget => Options.Order.LabelBudget;

    /// <inheritdoc />
    protected override Tensor BatchLoss(nn.Module<Tensor, Tensor> model, Batch batch)
        => nn.functional.cross_entropy(model.call(batch.Inputs), batch.Labels);

    /// <inheritdoc />
    private protected override void CheckParts()
    {
    }

    /// <inheritdoc />
    /// <remarks>The mean cross entropy of the part's rows (a global batch's parts average to its mean).</remarks>
    private protected override Tensor PartLoss(nn.Module<Tensor, Tensor> model, Batch batch, GlobalBatch shard)
        => batch.Size == 0 ? EmptyPartLoss(batch) : BatchLoss(model, batch);
}
