using System.Globalization;
using GroupRobust.Data;
using GroupRobust.Groups;
using GroupRobust.Mixing;
using GroupRobust.Randomness;
using static TorchSharp.torch;
using GroupRobust.Sampling;

namespace GroupRobust.Methods;

/// <summary>
/// Standard MixUp (Zhang et al., 2018), the unconditional baseline: shuffled epochs; per batch lambda ~ Beta(a, a),
/// partners by a random permutation of the batch, and the mixed-label loss (<see cref="StandardMixup"/>).
/// </summary>
public sealed class MixupMethod : TrainingMethod
{
    private readonly StandardMixup _mixup;

    /// <summary>Creates the method.</summary>
    /// <param name="train">The training split.</param>
    /// <param name="seeds">Seed source: "order" for the epochs, "mixup" for lambda and the permutations.</param>
    /// <param name="alpha">Beta(a, a) parameter a (default 1: lambda uniform); a &lt;= 0 disables mixing.</param>
    public MixupMethod(IGroupDataset train, SeedSource seeds, double alpha = 1.0)
        : base("mixup", (train ?? throw new ArgumentNullException(nameof(train))).Count, seeds)
    {
        UseSampler(seed => new ShuffleSampler(train.Count, seed));
        _mixup = new StandardMixup(alpha, Stream("mixup"));
    }

    /// <inheritdoc />
    public override string Name => _mixup.Alpha == 1 ? "MixUp" : string.Create(CultureInfo.InvariantCulture, $"MixUp (a={_mixup.Alpha:G})");

    /// <inheritdoc />
    public override LabelBudget LabelBudget => LabelBudget.None;

    /// <inheritdoc />
    protected override Tensor BatchLoss(nn.Module<Tensor, Tensor> model, Batch batch)
    {
        var draw = _mixup.Draw(batch.Size);
        return StandardMixup.Loss(model.call(StandardMixup.Mix(batch.Inputs, draw)), batch.Labels, draw);
    }
}
