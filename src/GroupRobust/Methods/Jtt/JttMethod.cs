using GroupRobust.Data;
using GroupRobust.Groups;
using GroupRobust.Identification;
using GroupRobust.Randomness;
using GroupRobust.Sampling;
using Microsoft.Extensions.Logging;
using static TorchSharp.torch;

namespace GroupRobust.Methods;

/// <summary>
/// JTT's phase II (Liu et al., 2021): ERM over the training set plus the error set (the minority side of any
/// <see cref="GroupAssignment"/>) repeated lambda more times per epoch (<see cref="JttReweighter"/>), mean cross entropy.
/// </summary>
public sealed class JttMethod : TrainingMethod
{
    private readonly GroupAssignment _groups;

    /// <summary>Creates the method.</summary>
    /// <param name="errorSet">Phase I's groups; its minority side is upsampled.</param>
    /// <param name="lambda">Extra repetitions of each error sample (&gt;= 0), or -1 for the reference's automatic value.</param>
    /// <param name="seeds">Seed source of the epoch orders.</param>
    /// <param name="logger">Receives the configuration and lambda warnings.</param>
    public JttMethod(GroupAssignment errorSet, int lambda, SeedSource seeds, ILogger? logger = null)
        : this(errorSet, seeds, new JttOptions { Lambda = lambda }, logger)
    {
    }

    /// <summary>Creates the method with every option.</summary>
    /// <param name="errorSet">Phase I's groups; its minority side is upsampled.</param>
    /// <param name="seeds">Seed source of the epoch orders.</param>
    /// <param name="options">lambda; the automatic lambda when null.</param>
    /// <param name="logger">Receives the configuration and lambda warnings.</param>
    /// <exception cref="ArgumentOutOfRangeException">lambda is below -1.</exception>
    /// <exception cref="InvalidOperationException">An automatic lambda that would not upsample (an empty or large error set).</exception>
    public JttMethod(GroupAssignment errorSet, SeedSource seeds, JttOptions? options, ILogger? logger = null)
        : base("jtt", (errorSet ?? throw new ArgumentNullException(nameof(errorSet))).Labels, seeds)
    {
        _groups = errorSet;
        ReadsGroups(errorSet);
        var order = EpochOrder.Upsampled(errorSet, (options ?? new JttOptions()).Lambda);
        UseSampler(seed => order.CreateSampler(errorSet.Count, seed, logger));
    }

    /// <summary>The lambda in use.</summary>
    public int Lambda => ((JttReweighter)Sampler).Lambda;

    /// <inheritdoc />
    public override string Name => $"JTT (λ={Lambda})";

    /// <inheritdoc />
    public override LabelBudget LabelBudget => _groups.TrainingBudget;

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
