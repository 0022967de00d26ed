using System.Globalization;
using GroupRobust.Data;
using GroupRobust.Groups;
using GroupRobust.Identification;
using GroupRobust.Randomness;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using static TorchSharp.torch;

namespace GroupRobust.Methods;

/// <summary>
/// SPARE's phase II (Yang et al., 2023, "Identifying Spurious Biases Early in Training through the Lens of Simplicity
/// Bias"): mean cross entropy over epochs of N draws with replacement, where a sample of class y in cluster g is drawn
/// with weight 1 / |g|^p_y and every class gets the same total weight. The power p_y is
/// <see cref="SpareSamplingOptions.HighSamplingPower"/> (2) when the class's clusters have a silhouette below
/// <see cref="SpareSamplingOptions.SilhouetteThreshold"/> (0.9), else 1; the silhouettes come with the groups of
/// <see cref="SpareIdentifier"/>. Any other assignment (an error set, EIIL's environments, true groups) is sampled with
/// <see cref="SpareSamplingOptions.PowerWithoutSilhouettes"/> for every class. Label budget: the groups' (none with the
/// SPARE identifier's clusters).
/// </summary>
/// <remarks>Follows SpuCo's <c>SpareTrain</c> (BigML-CS-UCLA/SpuCo, <c>robust_train/spare_train.py</c>), which draws the epoch with
/// <c>random.choices</c> over these weights; the draws here come from the method's seed source.</remarks>
public sealed class SpareMethod : TrainingMethod
{
    private static readonly SpareSamplingOptions Defaults = new();
    private readonly GroupAssignment _groups;
    private readonly double? _power;   // the power that sets this run apart from the defaults', for its name

    /// <summary>Creates the method.</summary>
    /// <param name="groups">The training split's clusters (<see cref="SpareIdentifier"/>), or any other assignment of it.</param>
    /// <param name="seeds">Seed source of the epoch draws.</param>
    /// <param name="options">Threshold and powers; SpuCo's defaults when null.</param>
    /// <param name="logger">Receives the sampling power of every class; <see cref="NullLogger"/> by default.</param>
    /// <exception cref="ArgumentOutOfRangeException">An option is out of range.</exception>
    /// <exception cref="ArgumentException">The groups' silhouettes are not one number per class.</exception>
    public SpareMethod(GroupAssignment groups, SeedSource seeds, SpareSamplingOptions? options = null, ILogger? logger = null)
        : base("spare", (groups ?? throw new ArgumentNullException(nameof(groups))).Labels, seeds)
    {
        Options = options ?? new SpareSamplingOptions();
        Options.Validate(nameof(options));
        _groups = groups;
        ReadsGroups(groups);
        var silhouettes = Silhouettes(groups);
        _power = silhouettes is null
            ? (Options.PowerWithoutSilhouettes == Defaults.PowerWithoutSilhouettes ? null : Options.PowerWithoutSilhouettes)
            : (Options.HighSamplingPower == Defaults.HighSamplingPower ? null : Options.HighSamplingPower);
        SamplingPowers = silhouettes is null
            ? Enumerable.Repeat(Options.PowerWithoutSilhouettes, groups.Metadata.NumClasses).ToArray()
            : silhouettes.Select(s => s < Options.SilhouetteThreshold ? Options.HighSamplingPower : 1.0).ToArray();
        var log = logger ?? NullLogger.Instance;
        if (silhouettes is null)
            log.LogInformation("SPARE sampling: the {Method} groups carry no silhouettes; sampling power {Power} for every class", groups.Metadata.Method, Options.PowerWithoutSilhouettes);
        else
            log.LogInformation("SPARE sampling: silhouettes {Silhouettes}, sampling powers {Powers}",
                string.Join(", ", silhouettes.Select(s => s.ToString("F3", CultureInfo.InvariantCulture))),
                string.Join(", ", SamplingPowers.Select(p => p.ToString(CultureInfo.InvariantCulture))));
        var powers = SamplingPowers;
        UseSampler(seed => new SpareSampler(groups, powers, seed));
    }

    /// <summary>The options in use.</summary>
    public SpareSamplingOptions Options { get; }

    /// <summary>The sampling power p_y of every class y.</summary>
    public IReadOnlyList<double> SamplingPowers { get; }

    /// <inheritdoc />
    /// <remarks>
    /// "SPARE" on the SPARE identifier's clusters, "SPARE sampling (G groups)" on others; a power other than the default
    /// in use is appended (<see cref="SpareSamplingOptions.HighSamplingPower"/> on clusters with silhouettes,
    /// <see cref="SpareSamplingOptions.PowerWithoutSilhouettes"/> otherwise), e.g. "SPARE (p=3)", so the runs of a search
    /// over <see cref="SpareSamplingOptions.SearchGrid"/> are told apart.
    /// </remarks>
    public override string Name
    {
        get
        {
            string power = _power is double p ? string.Create(CultureInfo.InvariantCulture, $"p={p:G}") : "";
            return _groups.Metadata.Method == "spare"
                ? power.Length == 0 ? "SPARE" : $"SPARE ({power})"
                : $"SPARE sampling ({_groups.Metadata.Method} groups{(power.Length == 0 ? "" : ", " + power)})";
        }
    }

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

    /// <summary>The per-class silhouettes the SPARE identifier records ("silhouettePerClass"), or null when the groups carry none.</summary>
    internal static double[]? Silhouettes(GroupAssignment groups)
    {
        if (!groups.Metadata.Parameters.TryGetValue("silhouettePerClass", out var text)) return null;
        var parts = text.Split(',');
        var values = new double[parts.Length];
        for (int i = 0; i < parts.Length; i++)
        {
            if (!double.TryParse(parts[i], NumberStyles.Float, CultureInfo.InvariantCulture, out values[i]) || !(values[i] >= -1 && values[i] <= 1))
                throw new ArgumentException($"The groups' silhouettePerClass '{text}' has '{parts[i]}' at class {i}; expected a number in [-1, 1].", nameof(groups));
        }
        if (values.Length != groups.Metadata.NumClasses)
            throw new ArgumentException($"The groups' silhouettePerClass has {values.Length} values; expected one per class ({groups.Metadata.NumClasses}).", nameof(groups));
        return values;
    }
}
