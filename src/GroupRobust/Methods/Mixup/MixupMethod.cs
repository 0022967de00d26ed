using System.Globalization;
using GroupRobust.Data;
using GroupRobust.Groups;
using GroupRobust.Internal;
using GroupRobust.Mixing;
using GroupRobust.Randomness;
using TorchSharp;
using static TorchSharp.torch;
using GroupRobust.Sampling;

namespace GroupRobust.Methods;

/// <summary>
/// Standard MixUp (Zhang et al., 2018), the unconditional baseline: shuffled epochs; per batch lambda ~ Beta(a, a),
/// partners by a random permutation of the batch, and the mixed-label loss (<see cref="StandardMixup"/>). At a hidden
/// layer or the output (<see cref="MixupOptions.Layer"/>) it is Manifold Mixup: one pass over the batch, its
/// representation mixed with the permuted rows' at that layer.
/// </summary>
public sealed class MixupMethod : TrainingMethod
{
    private readonly StandardMixup _mixup;
    private readonly PassCache? _passes;   // null when mixing the inputs

    /// <summary>Creates the method.</summary>
    /// <param name="train">The training split.</param>
    /// <param name="seeds">Seed source: "order" for the epochs, "mixup" for lambda and the permutations.</param>
    /// <param name="alpha">Beta(a, a) parameter a (default 1: lambda uniform); a &lt;= 0 disables mixing.</param>
    public MixupMethod(IGroupDataset train, SeedSource seeds, double alpha = 1.0)
        : this(train, seeds, new MixupOptions { Alpha = CheckAlpha(alpha, nameof(alpha)) })
    {
    }

    /// <summary>Creates the method with every option.</summary>
    /// <param name="train">The training split.</param>
    /// <param name="seeds">Seed source: "order" for the epochs, "mixup" for lambda and the permutations, "layer" for a random layer.</param>
    /// <param name="options">a, the epoch order and the layer; the defaults when null.</param>
    /// <exception cref="ArgumentOutOfRangeException">a is not a finite number &gt; 0.</exception>
    /// <exception cref="ArgumentException">The order's groups were made for another split (another size or other labels).</exception>
    public MixupMethod(IGroupDataset train, SeedSource seeds, MixupOptions? options)
        : base("mixup", (train ?? throw new ArgumentNullException(nameof(train))).Labels, seeds)
    {
        Options = options ?? new MixupOptions();
        CheckAlpha(Options.Alpha, nameof(MixupOptions.Alpha));
        ArgumentNullException.ThrowIfNull(Options.Order, nameof(options));
        ArgumentNullException.ThrowIfNull(Options.Layer, nameof(options));
        int n = train.Count;
        Options.Order.EnsureFits(train, nameof(options));
        UseSampler(seed => Options.Order.CreateSampler(n, seed));
        _mixup = new StandardMixup(Options.Alpha, Stream("mixup"));
        if (!Options.Layer.IsInput) _passes = PassCache.At(Options.Layer, Stream("layer"), Options.ClassifierName);
    }

    /// <summary>The options in use.</summary>
    public MixupOptions Options { get; }

    private static double CheckAlpha(double alpha, string name)
        => double.IsFinite(alpha) ? alpha : throw new ArgumentOutOfRangeException(name, alpha, "The Beta parameter a must be finite (a <= 0 disables mixing).");

    /// <inheritdoc />
    public override string Name
    {
        get
        {
            var parts = new List<string>();
            if (_mixup.Alpha != 1) parts.Add(string.Create(CultureInfo.InvariantCulture, $"a={_mixup.Alpha:G}"));
            if (Options.Order.Description.Length > 0) parts.Add(Options.Order.Description);
            if (!Options.Layer.IsInput) parts.Add(Options.Layer.Description);
            return parts.Count == 0 ? "MixUp" : $"MixUp ({string.Join(", ", parts)})";
        }
    }

    /// <inheritdoc />
    public override LabelBudget LabelBudget => Options.Order.LabelBudget;

    /// <inheritdoc />
    /// <remarks>At the input MixUp interpolates the inputs: integer inputs (token ids) are refused there, before anything is drawn; at a hidden layer or the output they are fine.</remarks>
    protected override void CheckBatch(nn.Module<Tensor, Tensor> model, Batch batch)
        => MixedForwardPass.RequireMixable(batch.Inputs, Options.Layer.CandidatesFor(model), Name, nameof(batch));

    /// <inheritdoc />
    protected override Tensor BatchLoss(nn.Module<Tensor, Tensor> model, Batch batch)
    {
        var draw = _mixup.Draw(batch.Size);
        if (_passes is null) return StandardMixup.Loss(model.call(StandardMixup.Mix(batch.Inputs, draw)), batch.Labels, draw);
        var dtype = batch.Inputs.is_floating_point() ? batch.Inputs.dtype : ScalarType.Float32;
        var c = HostUpload.Float64(Enumerable.Repeat(draw.Lambda, batch.Size).ToArray(), batch.Inputs.device, dtype);
        return StandardMixup.Loss(_passes.For(model).Run(batch.Inputs, null, draw.Permutation.Select(i => (long)i).ToArray(), c), batch.Labels, draw);
    }
}
