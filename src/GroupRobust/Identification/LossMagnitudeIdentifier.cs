using System.Globalization;
using GroupRobust.Data;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using TorchSharp;
using static TorchSharp.torch;

namespace GroupRobust.Identification;

/// <summary>
/// Identification by loss magnitude: the error set is the top <see cref="Fraction"/> of training samples by
/// per-sample cross-entropy under the phase-I model, either over the whole set or within each class (so that every
/// class contributes the same fraction). Ties at the threshold are broken by the lower index.
/// </summary>
public sealed class LossMagnitudeIdentifier : IGroupIdentifier, IShardableIdentifier
{
    private readonly nn.Module<Tensor, Tensor> _model;
    private readonly IdentificationOptions _options;
    private readonly ILogger _logger;

    /// <summary>Creates the identifier.</summary>
    /// <param name="model">The phase-I classifier (not owned).</param>
    /// <param name="fraction">Fraction of samples to put in the error set, in (0, 1).</param>
    /// <param name="perClass">True: the top fraction of each class; false (default): of the whole set.</param>
    /// <param name="options">Batch size, device and epoch tag.</param>
    /// <param name="logger">Receives the summary; <see cref="NullLogger"/> by default.</param>
    public LossMagnitudeIdentifier(nn.Module<Tensor, Tensor> model, double fraction, bool perClass = false,
        IdentificationOptions? options = null, ILogger? logger = null)
    {
        ArgumentNullException.ThrowIfNull(model);
        if (!(fraction > 0 && fraction < 1))
            throw new ArgumentOutOfRangeException(nameof(fraction), fraction, "The error-set fraction must be in (0, 1).");
        _model = model;
        Fraction = fraction;
        PerClass = perClass;
        _options = options ?? new IdentificationOptions();
        _options.Validate();
        _logger = logger ?? NullLogger.Instance;
    }

    /// <summary>Fraction of samples in the error set, in (0, 1).</summary>
    public double Fraction { get; }

    /// <summary>Whether the fraction applies per class.</summary>
    public bool PerClass { get; }

    /// <inheritdoc />
    public GroupAssignment Identify(IGroupDataset dataset) => Identify(dataset, null);

    /// <inheritdoc />
    GroupAssignment IShardableIdentifier.Identify(IGroupDataset dataset, PassShare share) => Identify(dataset, share);

    private GroupAssignment Identify(IGroupDataset dataset, PassShare? share)
    {
        var (_, loss) = ModelPass.Run(_model, dataset, _options, needLoss: true, share);
        var p = GroupAssignment.Identified(SelectTop(loss, dataset.Labels.Span, dataset.Scheme.NumClasses, Fraction, PerClass), dataset,
            "loss-magnitude", _options.Epoch, new Dictionary<string, string>
            {
                ["fraction"] = Fraction.ToString("R", CultureInfo.InvariantCulture),
                ["perClass"] = PerClass ? "true" : "false",
            });
        return IdentificationReport.Report(p, _logger);
    }

    /// <summary>The top <paramref name="fraction"/> of <paramref name="loss"/> (rounded to the nearest count), globally or per class.</summary>
    internal static bool[] SelectTop(float[] loss, ReadOnlySpan<int> labels, int classes, double fraction, bool perClass)
    {
        var mask = new bool[loss.Length];
        var pools = perClass
            ? Enumerable.Range(0, classes).Select(_ => new List<int>()).ToArray()
            : [new List<int>(loss.Length)];
        for (int i = 0; i < loss.Length; i++) pools[perClass ? labels[i] : 0].Add(i);
        foreach (var pool in pools)
        {
            int k = (int)Math.Round(fraction * pool.Count, MidpointRounding.AwayFromZero);
            // stable descending order: higher loss first, then lower index
            pool.Sort((a, b) => loss[b].CompareTo(loss[a]) is var c && c != 0 ? c : a.CompareTo(b));
            for (int j = 0; j < k; j++) mask[pool[j]] = true;
        }
        return mask;
    }
}
