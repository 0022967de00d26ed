using System.Globalization;
using GroupRobust.Data;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using TorchSharp;
using static TorchSharp.torch;

namespace GroupRobust.Identification;

/// <summary>
/// An error set sized per class without any label: within each class, a two-component Gaussian mixture is fitted to the
/// phase-I model's per-sample cross entropy (DivideMix's loss mixture, Li et al., 2020), and the samples whose posterior
/// of the high-loss component exceeds <see cref="LossMixtureOptions.Threshold"/> join the error set, when that component's
/// mean loss reaches <see cref="LossMixtureOptions.MinimumHighLoss"/>, with every misclassified sample (by default). Where JTT's 0/1 error keeps only the minority samples the model already gets
/// wrong, the mixture also takes those it fits with a high loss, so the error set can find the minority in classes
/// where the model gets most of it right; each class gets the size its own losses show. Label budget: none.
/// </summary>
public sealed class LossMixtureIdentifier : IGroupIdentifier, IShardableIdentifier
{
    private readonly nn.Module<Tensor, Tensor> _model;
    private readonly LossMixtureOptions _options;
    private readonly ILogger _logger;

    /// <summary>Creates the identifier for a trained phase-I model (not owned).</summary>
    /// <param name="model">The phase-I classifier, producing logits [B, C].</param>
    /// <param name="options">Threshold, misclassified samples, the pass; defaults when null.</param>
    /// <param name="logger">Receives the error-set summary; <see cref="NullLogger"/> by default.</param>
    /// <exception cref="ArgumentOutOfRangeException">An option is out of range.</exception>
    public LossMixtureIdentifier(nn.Module<Tensor, Tensor> model, LossMixtureOptions? options = null, ILogger? logger = null)
    {
        ArgumentNullException.ThrowIfNull(model);
        _model = model;
        _options = options ?? new LossMixtureOptions();
        _options.Validate();
        _logger = logger ?? NullLogger.Instance;
    }

    /// <inheritdoc />
    /// <exception cref="ArgumentException">The model's output does not have one logit per class.</exception>
    public GroupAssignment Identify(IGroupDataset dataset) => Identify(dataset, null);

    /// <inheritdoc />
    GroupAssignment IShardableIdentifier.Identify(IGroupDataset dataset, PassShare share) => Identify(dataset, share);

    private GroupAssignment Identify(IGroupDataset dataset, PassShare? share)
    {
        var (wrong, loss) = ModelPass.Run(_model, dataset, _options.Pass, needLoss: true, share);
        var mask = Select(wrong, loss, dataset.Labels.Span, dataset.Scheme.NumClasses, _options);
        var p = GroupAssignment.Identified(mask, dataset, "loss-mixture", _options.Pass.Epoch, new Dictionary<string, string>
        {
            ["threshold"] = _options.Threshold.ToString("R", CultureInfo.InvariantCulture),
            ["minimumHighLoss"] = _options.MinimumHighLoss.ToString("R", CultureInfo.InvariantCulture),
            ["includeMisclassified"] = _options.IncludeMisclassified ? "true" : "false",
        });
        return IdentificationReport.Report(p, _logger);
    }

    /// <summary>The error set: per class, the high-loss component of the losses' mixture (and the misclassified samples when asked).</summary>
    internal static bool[] Select(bool[] wrong, float[] loss, ReadOnlySpan<int> labels, int classes, LossMixtureOptions options)
    {
        var mask = new bool[loss.Length];
        var pools = Enumerable.Range(0, classes).Select(_ => new List<int>()).ToArray();
        for (int i = 0; i < loss.Length; i++) pools[labels[i]].Add(i);
        foreach (var pool in pools)
        {
            // on the log of the loss: the well-fitted mode sits orders of magnitude below the high one, and a raw-scale
            // mixture would give the low mode a sliver and everything above it to the high component
            var posterior = LossMixture.HighPosterior(pool.Select(i => Math.Log(Math.Max(loss[i], 1e-8))).ToArray(), Math.Log(Math.Max(options.MinimumHighLoss, 1e-8)));
            for (int j = 0; j < pool.Count; j++)
                mask[pool[j]] = posterior[j] > options.Threshold || (options.IncludeMisclassified && wrong[pool[j]]);
        }
        return mask;
    }
}
