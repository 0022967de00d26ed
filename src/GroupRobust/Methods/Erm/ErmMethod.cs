using GroupRobust.Data;
using GroupRobust.Groups;
using GroupRobust.Randomness;
using static TorchSharp.torch;
using GroupRobust.Sampling;

namespace GroupRobust.Methods;

/// <summary>Empirical risk minimisation: a new random permutation every epoch, mean cross entropy. The baseline every table starts from, and phase I of JTT and JM1.</summary>
public sealed class ErmMethod : TrainingMethod
{

    /// <summary>Creates the method.</summary>
    /// <param name="train">The training split.</param>
    /// <param name="seeds">Seed source of the epoch orders (stream "order").</param>
    public ErmMethod(IGroupDataset train, SeedSource seeds)
        : base("erm", (train ?? throw new ArgumentNullException(nameof(train))).Count, seeds)
        => UseSampler(seed => new ShuffleSampler(train.Count, seed));

    /// <inheritdoc />
    public override string Name => "ERM";

    /// <inheritdoc />
    public override LabelBudget LabelBudget => LabelBudget.None;

    /// <inheritdoc />
    protected override Tensor BatchLoss(nn.Module<Tensor, Tensor> model, Batch batch)
        => nn.functional.cross_entropy(model.call(batch.Inputs), batch.Labels);

    /// <inheritdoc />
    /// <remarks>The mean cross entropy of the part's rows (a global batch's parts average to its mean).</remarks>
    protected override Tensor ShardLoss(nn.Module<Tensor, Tensor> model, Batch batch, BatchShard shard)
        => batch.Size == 0 ? EmptyPartLoss(batch) : BatchLoss(model, batch);
}
