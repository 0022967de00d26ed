using System.Globalization;
using GroupRobust.Data;
using GroupRobust.Groups;
using GroupRobust.Identification;
using GroupRobust.Internal;
using GroupRobust.Models;
using GroupRobust.Randomness;
using GroupRobust.Sampling;
using TorchSharp;
using static TorchSharp.torch;

namespace GroupRobust.Methods;

/// <summary>
/// ERM plus a penalty that aligns the environments' representations (SubpopBench's MMD and CORAL, after DomainBed's): the
/// environments are the attribute values a of a <see cref="GroupAssignment"/> (g = y A + a), the representation is what
/// the final classifier reads (<see cref="IEncoderHead.Encode"/>, or the input of the final layer), and per batch the loss
/// is the mean cross entropy plus <see cref="FeatureAlignmentOptions.PenaltyWeight"/> times the mean, over the pairs of
/// environments present, of their distance (<see cref="FeatureKernel"/>).
/// </summary>
/// <remarks>
/// Follows SubpopBench's <c>AbstractMMD</c> (YyzHarry/SubpopBench, <c>learning/algorithms.py</c>). Deviation: with
/// <see cref="FeatureKernel.MeanCovariance"/> an environment with a single row in a batch takes no part in the penalty
/// (its covariance divides by n - 1 = 0, which makes the reference's loss NaN). Representations are compared in float32.
/// </remarks>
public sealed class FeatureAlignmentMethod : TrainingMethod
{
    private static readonly double[] Bandwidths = [0.001, 0.01, 0.1, 1, 10, 100, 1000];
    private readonly GroupAssignment _environments;

    /// <summary>Creates the method.</summary>
    /// <param name="environments">The training split's groups, whose attribute values are the environments: true groups (<see cref="GroupAssignment.FromTrueGroups"/>) or inferred ones.</param>
    /// <param name="seeds">Seed source of the epoch orders.</param>
    /// <param name="options">The kernel and the penalty weight; MMD with weight 1 when null.</param>
    /// <exception cref="ArgumentOutOfRangeException">The penalty weight is negative, NaN or infinite, or the kernel is not a defined value.</exception>
    public FeatureAlignmentMethod(GroupAssignment environments, SeedSource seeds, FeatureAlignmentOptions? options = null)
        : base(KindOf(options), (environments ?? throw new ArgumentNullException(nameof(environments))).Labels, seeds)
    {
        Options = options ?? new FeatureAlignmentOptions();
        if (!Enum.IsDefined(Options.Kernel))
            throw new ArgumentOutOfRangeException(nameof(options), Options.Kernel, $"Unknown kernel; expected one of {string.Join(", ", Enum.GetNames<FeatureKernel>())}.");
        if (!(Options.PenaltyWeight >= 0 && double.IsFinite(Options.PenaltyWeight)))
            throw new ArgumentOutOfRangeException(nameof(options), Options.PenaltyWeight, "FeatureAlignmentOptions.PenaltyWeight must be a finite number of at least 0.");
        _environments = environments;
        ReadsGroups(environments);
        int n = environments.Count;
        UseSampler(seed => new ShuffleSampler(n, seed));
    }

    private static string KindOf(FeatureAlignmentOptions? options) => options?.Kernel == FeatureKernel.MeanCovariance ? "coral" : "mmd";

    /// <summary>The options in use.</summary>
    public FeatureAlignmentOptions Options { get; }

    /// <inheritdoc />
    public override string Name
    {
        get
        {
            string name = string.Create(CultureInfo.InvariantCulture, $"{(Options.Kernel == FeatureKernel.Gaussian ? "MMD" : "CORAL")} (γ={Options.PenaltyWeight:G})");
            return _environments.Source == GroupSource.TrueLabels ? name : $"{name[..^1]}, {_environments.Metadata.Method} environments)";
        }
    }

    /// <inheritdoc />
    public override LabelBudget LabelBudget => _environments.TrainingBudget;

    /// <inheritdoc />
    protected override Tensor BatchLoss(nn.Module<Tensor, Tensor> model, Batch batch)
    {
        var (features, logits) = Penultimate.Forward(model, batch.Inputs, nameof(model));
        var objective = nn.functional.cross_entropy(logits.to(ScalarType.Float32), batch.Labels);
        var h = features.flatten(1).to(ScalarType.Float32);
        var parts = AttributeEnvironments.Rows(batch.Indices, _environments)
            .Where(rows => Options.Kernel == FeatureKernel.Gaussian || rows.Length >= 2)
            .Select(rows => h.index_select(0, HostUpload.Int64(rows, h.device)))
            .ToList();
        if (parts.Count < 2) return objective;
        var penalty = torch.zeros([], ScalarType.Float32, h.device);
        for (int i = 0; i < parts.Count; i++)
            for (int j = i + 1; j < parts.Count; j++)
                penalty = penalty.add(Distance(parts[i], parts[j]));
        return objective.add(penalty.mul(Options.PenaltyWeight / (parts.Count * (parts.Count - 1) / 2.0)));
    }

    private Tensor Distance(Tensor x, Tensor y)
    {
        if (Options.Kernel == FeatureKernel.Gaussian)
            return Kernel(x, x).mean().add(Kernel(y, y).mean()).sub(Kernel(x, y).mean().mul(2));
        var meanX = x.mean([0], keepdim: true);
        var meanY = y.mean([0], keepdim: true);
        var centX = x.sub(meanX);
        var centY = y.sub(meanY);
        var covX = centX.t().matmul(centX).div(x.shape[0] - 1);
        var covY = centY.t().matmul(centY).div(y.shape[0] - 1);
        return meanX.sub(meanY).pow(2).mean().add(covX.sub(covY).pow(2).mean());
    }

    /// <summary>sum over the bandwidths of exp(-gamma D), D the squared distances clamped at 1e-30 (the reference's <c>my_cdist</c>).</summary>
    private static Tensor Kernel(Tensor x, Tensor y)
    {
        var d = torch.addmm(y.pow(2).sum(-1, keepdim: true).t(), x, y.t(), beta: 1, alpha: -2).add(x.pow(2).sum(-1, keepdim: true)).clamp_min(1e-30);
        var k = torch.zeros_like(d);
        foreach (var g in Bandwidths) k = k.add(d.mul(-g).exp());
        return k;
    }
}
