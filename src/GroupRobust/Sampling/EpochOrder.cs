using GroupRobust.Groups;
using GroupRobust.Identification;
using Microsoft.Extensions.Logging;

namespace GroupRobust.Sampling;

/// <summary>
/// How a method orders the training samples of an epoch: a new random permutation (<see cref="Shuffled"/>, ERM's),
/// group-balanced draws (<see cref="GroupBalanced"/>, GroupDRO's sampler, SubpopBench's ReSample) or JTT's upsampled
/// epoch (<see cref="Upsampled"/>). ERM, CVaR-DRO and MixUp take one, so group-balanced ERM is ERM with an order, not a
/// new method. An order over group labels reads them: its <see cref="LabelBudget"/> counts in the method's.
/// </summary>
public abstract class EpochOrder
{
    private EpochOrder()
    {
    }

    /// <summary>A new random permutation of the whole split every epoch (the default).</summary>
    public static EpochOrder Shuffled { get; } = new ShuffledOrder();

    /// <summary>N draws per epoch with every non-empty group of <paramref name="groups"/> equally likely (<see cref="GroupBalancedSampler"/>).</summary>
    /// <param name="groups">The training split's groups: true ones (which reads training group labels) or an identifier's.</param>
    public static EpochOrder GroupBalanced(GroupAssignment groups)
    {
        ArgumentNullException.ThrowIfNull(groups);
        return new GroupBalancedOrder(groups);
    }

    /// <summary>JTT's epoch: the split plus the minority side of <paramref name="errorSet"/> repeated lambda more times (<see cref="JttReweighter"/>).</summary>
    /// <param name="errorSet">Phase I's groups; their minority side is upsampled.</param>
    /// <param name="lambda">Extra repetitions (&gt;= 0), or -1 for JTT's automatic value.</param>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="lambda"/> is below -1, or so large that an epoch (N + lambda |E| samples) cannot be held in one array.</exception>
    public static EpochOrder Upsampled(GroupAssignment errorSet, int lambda)
    {
        ArgumentNullException.ThrowIfNull(errorSet);
        if (lambda < JttReweighter.AutomaticLambda)
            throw new ArgumentOutOfRangeException(nameof(lambda), lambda, "lambda must be >= 0, or -1 for the automatic value.");
        JttReweighter.EnsureMaterializable(errorSet.Count, errorSet.MinorityCount, lambda, nameof(lambda));
        return new UpsampledOrder(errorSet, lambda);
    }

    /// <summary>A short description for method names, e.g. "group-balanced"; empty for <see cref="Shuffled"/>.</summary>
    public abstract string Description { get; }

    /// <summary>The group labels the order reads: the training split's when it is built on true groups, else none.</summary>
    public abstract LabelBudget LabelBudget { get; }

    /// <summary>The sampler of this order for a split of <paramref name="datasetSize"/> samples.</summary>
    /// <param name="datasetSize">The training split's size N.</param>
    /// <param name="seed">The sampler's seed (epoch e's order depends only on it and e).</param>
    /// <param name="logger">Receives the sampler's configuration (JTT's lambda).</param>
    /// <exception cref="ArgumentException">The order's groups index another number of samples.</exception>
    public abstract EpochSampler CreateSampler(int datasetSize, long seed, ILogger? logger = null);

    /// <inheritdoc />
    public override string ToString() => Description.Length == 0 ? "shuffled" : Description;

    /// <summary>Throws unless the order's groups were made for <paramref name="train"/> (same size and labels); a method's door calls it.</summary>
    /// <param name="train">The method's training split.</param>
    /// <param name="paramName">The argument to name (the method's options).</param>
    internal virtual void EnsureFits(Data.IGroupDataset train, string paramName)
    {
    }

    private static void EnsureSize(GroupAssignment groups, int datasetSize)
    {
        if (groups.Count != datasetSize)
            throw new ArgumentException($"The order's groups index {groups.Count} samples but the training split has {datasetSize}.", nameof(datasetSize));
    }

    private sealed class ShuffledOrder : EpochOrder
    {
        public override string Description => "";

        public override LabelBudget LabelBudget => LabelBudget.None;

        public override EpochSampler CreateSampler(int datasetSize, long seed, ILogger? logger = null) => new ShuffleSampler(datasetSize, seed);
    }

    private sealed class GroupBalancedOrder(GroupAssignment groups) : EpochOrder
    {
        public override string Description => groups.Source == GroupSource.TrueLabels ? "group-balanced" : $"balanced over {groups.Metadata.Method} groups";

        public override LabelBudget LabelBudget => groups.TrainingBudget;

        internal override void EnsureFits(Data.IGroupDataset train, string paramName) => groups.EnsureMatches(train, paramName);

        public override EpochSampler CreateSampler(int datasetSize, long seed, ILogger? logger = null)
        {
            EnsureSize(groups, datasetSize);
            return new GroupBalancedSampler(groups, seed);
        }
    }

    private sealed class UpsampledOrder(GroupAssignment errorSet, int lambda) : EpochOrder
    {
        public override string Description => lambda == JttReweighter.AutomaticLambda ? "upsampled" : $"upsampled λ={lambda}";

        public override LabelBudget LabelBudget => errorSet.TrainingBudget;

        internal override void EnsureFits(Data.IGroupDataset train, string paramName) => errorSet.EnsureMatches(train, paramName);

        public override EpochSampler CreateSampler(int datasetSize, long seed, ILogger? logger = null)
        {
            EnsureSize(errorSet, datasetSize);
            return new JttReweighter(errorSet, lambda, seed, logger);
        }
    }
}
