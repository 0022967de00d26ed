using System.Globalization;
using GroupRobust.Data;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using TorchSharp;
using static TorchSharp.torch;

namespace GroupRobust.Identification;

/// <summary>
/// JTT's identification (Liu et al., 2021): the error set is every training sample the phase-I model misclassifies,
/// E = { i : argmax f_T(x_i) != y_i }, from a separate eval-mode pass after epoch T (the clean definition; the
/// reference's in-training variant is <see cref="ErrorSetRecorder"/>).
/// </summary>
public sealed class MisclassificationIdentifier : IGroupIdentifier, IShardableIdentifier
{
    private readonly nn.Module<Tensor, Tensor> _model;
    private readonly IdentificationOptions _options;
    private readonly ILogger _logger;

    /// <summary>Creates the identifier for a trained phase-I model (not owned).</summary>
    /// <param name="model">The phase-I classifier, producing logits [B, C].</param>
    /// <param name="options">Batch size, device and epoch tag; defaults when null.</param>
    /// <param name="logger">Receives the error-set summary and warnings; <see cref="NullLogger"/> by default.</param>
    public MisclassificationIdentifier(nn.Module<Tensor, Tensor> model, IdentificationOptions? options = null, ILogger? logger = null)
    {
        ArgumentNullException.ThrowIfNull(model);
        _model = model;
        _options = options ?? new IdentificationOptions();
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
        var (wrong, _) = ModelPass.Run(_model, dataset, _options, needLoss: false, share);
        var p = GroupAssignment.Identified(wrong, dataset, "misclassification", _options.Epoch,
            new Dictionary<string, string> { ["pass"] = "eval", ["batchSize"] = _options.BatchSize.ToString(CultureInfo.InvariantCulture) });
        return IdentificationReport.Report(p, _logger);
    }
}
