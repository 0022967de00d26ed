using System.Globalization;
using GroupRobust.Data;
using GroupRobust.Groups;
using GroupRobust.Identification;
using GroupRobust.Internal;
using GroupRobust.Randomness;
using GroupRobust.Sampling;
using TorchSharp;
using static TorchSharp.torch;

namespace GroupRobust.Methods;

/// <summary>
/// Group-reweighted ERM (SubpopBench's ReWeight, SqrtReWeight and CBLoss): shuffled epochs, and the loss of a batch is
/// mean_i w_{g(i)} CE_i, with fixed weights computed once from the training groups' sizes (<see cref="GroupWeighting"/>).
/// With true groups it reads the training split's group labels; with an identifier's groups (an error set) it reads none.
/// </summary>
/// <remarks>
/// Follows SubpopBench's <c>ReWeight</c>, <c>SqrtReWeight</c> and <c>CBLoss</c> (YyzHarry/SubpopBench,
/// <c>learning/algorithms.py</c>): weights scaled to sum to G over all C x A groups, empty groups 0. One deviation: the
/// reference also zeroes the effective-number weight of a group so large that beta^n_g underflows (1 - beta^n_g == 1 in
/// float64, n_g above about 368,000 at beta = 0.9999), an artefact of how it marks empty groups; here only empty groups
/// weigh 0.
/// </remarks>
public sealed class ReweightMethod : TrainingMethod
{
    private readonly GroupAssignment _groups;
    private readonly float[] _weights;

    /// <summary>Creates the method.</summary>
    /// <param name="groups">The training split's groups, true (<see cref="GroupAssignment.FromTrueGroups"/>) or inferred.</param>
    /// <param name="seeds">Seed source of the epoch orders.</param>
    /// <param name="options">The weighting rule; <see cref="GroupWeighting.InverseSize"/> when null.</param>
    /// <exception cref="ArgumentOutOfRangeException"><see cref="ReweightOptions.Beta"/> is outside (0, 1), or the weighting is not a defined value.</exception>
    public ReweightMethod(GroupAssignment groups, SeedSource seeds, ReweightOptions? options = null)
        : base("reweight", (groups ?? throw new ArgumentNullException(nameof(groups))).Labels, seeds)
    {
        Options = options ?? new ReweightOptions();
        if (!Enum.IsDefined(Options.Weighting))
            throw new ArgumentOutOfRangeException(nameof(options), Options.Weighting, $"Unknown weighting; expected one of {string.Join(", ", Enum.GetNames<GroupWeighting>())}.");
        if (!(Options.Beta > 0 && Options.Beta < 1))
            throw new ArgumentOutOfRangeException(nameof(options), Options.Beta, "ReweightOptions.Beta must be in (0, 1).");
        _groups = groups;
        ReadsGroups(groups);
        GroupWeights = Weights(groups.GroupCounts(), Options);
        _weights = GroupWeights.Select(w => (float)w).ToArray();
        int n = groups.Count;
        UseSampler(seed => new ShuffleSampler(n, seed));
    }

    /// <summary>The options in use.</summary>
    public ReweightOptions Options { get; }

    /// <summary>The weight w_g of each group g in [0, G) (G = C x A), summing to G; 0 for an empty group.</summary>
    public IReadOnlyList<double> GroupWeights { get; }

    /// <inheritdoc />
    public override string Name
    {
        get
        {
            string rule = Options.Weighting switch
            {
                GroupWeighting.InverseSize => "ReWeight",
                GroupWeighting.InverseSquareRootSize => "SqrtReWeight",
                _ => string.Create(CultureInfo.InvariantCulture, $"CBLoss (β={Options.Beta:G})"),
            };
            return _groups.Source == GroupSource.TrueLabels ? rule : $"{rule} ({_groups.Metadata.Method} groups)";
        }
    }

    /// <inheritdoc />
    public override LabelBudget LabelBudget => _groups.TrainingBudget;

    /// <summary>The weights of a weighting rule for the given group sizes: summing to the number of groups, 0 for an empty group.</summary>
    internal static double[] Weights(long[] counts, ReweightOptions options) => GroupLossWeights.Of(counts, options.Weighting, options.Beta);

    /// <inheritdoc />
    protected override Tensor BatchLoss(nn.Module<Tensor, Tensor> model, Batch batch)
    {
        var perSample = nn.functional.cross_entropy(model.call(batch.Inputs), batch.Labels, reduction: nn.Reduction.None).to(ScalarType.Float32);
        return perSample.mul(GroupLossWeights.OfRows(_weights, _groups, batch.Indices, perSample.device)).mean();
    }

    /// <inheritdoc />
    private protected override void CheckParts()
    {
    }

    /// <inheritdoc />
    /// <remarks>The mean of w_g CE over the part's rows (a global batch's parts average to its mean).</remarks>
    private protected override Tensor PartLoss(nn.Module<Tensor, Tensor> model, Batch batch, GlobalBatch global)
        => batch.Size == 0 ? EmptyPartLoss(batch) : BatchLoss(model, batch);
}
