using GroupRobust.Data;
using GroupRobust.Evaluation;
using GroupRobust.Groups;
using GroupRobust.Identification;
using GroupRobust.Internal;
using GroupRobust.Models;
using GroupRobust.Randomness;
using GroupRobust.Sampling;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using TorchSharp;
using static TorchSharp.torch;

namespace GroupRobust.Methods;

/// <summary>
/// Classifier re-training (Kang et al., 2020, "Decoupling representation and classifier"; SubpopBench's CRT, ReWeightCRT
/// and VanillaCRT): the feature extractor of a trained ERM model frozen, a new last layer trained on the training
/// split's features with group-balanced sampling (CRT), group weights 1 / n_g (ReWeightCRT) or neither (VanillaCRT), by
/// SGD with momentum 0.9, each epoch evaluated on the validation features and the first best epoch under
/// <see cref="CrtOptions.Selection"/> kept.
/// </summary>
/// <remarks>
/// Follows SubpopBench (YyzHarry/SubpopBench, <c>learning/algorithms.py</c> and <c>train.py</c>): stage 1 is ERM; stage 2
/// loads its featurizer but not its classifier (<c>train.py</c> skips the keys of <c>classifier</c> and
/// <c>network.1</c>), so the classifier starts from <c>nn.Linear</c>'s initialisation, as Kang et al.'s cRT
/// re-initialises it (<see cref="CrtOptions.ReinitializeHead"/>; false trains the given head further); stage 2 optimises
/// the classifier only. The features are computed once (eval mode) instead of at every step: the same numbers for
/// networks without dropout or batch statistics (the reference runs its frozen featurizer in train mode, so its
/// batch-norm statistics keep moving; here they stay stage 1's).
/// </remarks>
public static class Crt
{
    /// <summary>Retrains the last layer.</summary>
    /// <param name="train">Features of the training split, with its group labels for the balanced variants.</param>
    /// <param name="validation">Validation features (with group labels when the selection rule reads them).</param>
    /// <param name="initial">The ERM model's last layer: the shape of the new one, and where training starts when <see cref="CrtOptions.ReinitializeHead"/> is false.</param>
    /// <param name="seeds">The seed source of the epoch orders (stream "order") and of the new head (stream "head").</param>
    /// <param name="options">The balancing, the schedule and the selection rule; SubpopBench's CRT when null.</param>
    /// <param name="logger">Receives each epoch's validation score; none when null.</param>
    /// <exception cref="ArgumentException">A balanced variant on training features without group labels; a head without features, or whose bias or class count is not the split's number of classes; features that do not fit the head; an option out of range (named).</exception>
    public static CrtResult Run(TensorGroupDataset train, TensorGroupDataset validation, LinearHead initial, SeedSource seeds, CrtOptions? options = null, ILogger? logger = null)
        => Run(train, validation, initial, seeds, options, logger, null);

    /// <summary>
    /// <see cref="Run(TensorGroupDataset, TensorGroupDataset, LinearHead, SeedSource, CrtOptions?, ILogger?)"/> with each
    /// epoch's order given (epoch from 1; null: the balancing's sampler). Internal: the reference-fixture test replays a
    /// transcription's epochs.
    /// </summary>
    internal static CrtResult Run(TensorGroupDataset train, TensorGroupDataset validation, LinearHead initial, SeedSource seeds, CrtOptions? options, ILogger? logger,
        Func<int, long[]>? epochOrder)
    {
        ArgumentNullException.ThrowIfNull(train);
        ArgumentNullException.ThrowIfNull(validation);
        ArgumentNullException.ThrowIfNull(initial);
        ArgumentNullException.ThrowIfNull(seeds);
        var o = options ?? new CrtOptions();
        o.Validate();
        logger ??= NullLogger.Instance;
        if (o.Balancing != CrtBalancing.None && !train.HasGroups)
            throw new ArgumentException($"CRT with {o.Balancing} balances the training groups, but the training features have no group labels (extract them from a split with groups, or use CrtBalancing.None).", nameof(train));
        if (initial.Features < 1 || initial.Bias.Length != initial.Classes || initial.Classes != train.Scheme.NumClasses)
            throw new ArgumentException($"The head must read at least one feature and hold a bias for each of the split's {train.Scheme.NumClasses} classes; it has {initial.Classes} x {initial.Features} weights and {initial.Bias.Length} biases.", nameof(initial));
        if (train.Inputs.dim() != 2 || train.Inputs.shape[1] != initial.Features || validation.Inputs.dim() != 2 || validation.Inputs.shape[1] != initial.Features)
            throw new ArgumentException($"The head reads {initial.Features} features, but the training features are {Guard.Shape(train.Inputs)} and the validation features {Guard.Shape(validation.Inputs)}.", nameof(initial));
        if (o.Selection.LabelBudget >= LabelBudget.ValidationGroupsForSelection && !validation.HasGroups)
            throw new ArgumentException($"Selection by {o.Selection.Name} reads validation group labels; the validation features have none.", nameof(validation));
        var groups = o.Balancing == CrtBalancing.None ? null : GroupAssignment.FromTrueGroups(train);
        EpochSampler sampler = o.Balancing == CrtBalancing.GroupBalancedSampling ? new GroupBalancedSampler(groups!, seeds.Derive("order")) : new ShuffleSampler(train.Count, seeds.Derive("order"));
        // beta is read by the effective-number rule only
        float[]? weights = o.Balancing == CrtBalancing.GroupReweighting
            ? GroupLossWeights.Of(groups!.GroupCounts(), GroupWeighting.InverseSize, beta: 0.5).Select(w => (float)w).ToArray()
            : null;

        using var head = nn.Linear(initial.Features, initial.Classes);
        if (o.ReinitializeHead)
        {
            // drawn on the host, so that every device starts from the same head
            using var generator = seeds.Generator("head");
            SeededLinear.Initialize(head, generator);
        }
        if (train.Device.type != DeviceType.CPU) head.to(train.Device);
        if (!o.ReinitializeHead) initial.Load(head);
        using var sgd = torch.optim.SGD(head.parameters(), o.LearningRate, momentum: 0.9, weight_decay: o.WeightDecay);
        using var evaluator = new WorstGroupEvaluator(validation.Scheme, o.Selection.EvaluatorFor(new EvaluatorOptions { BootstrapSamples = 0 }));
        var history = new List<EpochResult>();
        LinearHead? best = null;
        int bestEpoch = 0;
        double bestScore = double.NaN;
        for (int epoch = 1; epoch <= o.Epochs; epoch++)
        {
            head.train();
            foreach (var batch in train.Batches(epochOrder?.Invoke(epoch) ?? sampler.IndicesForEpoch(epoch), o.BatchSize))
            {
                using var scope = NewDisposeScope();
                sgd.zero_grad();
                var ce = nn.functional.cross_entropy(head.call(batch.Inputs), batch.Labels, reduction: nn.Reduction.None);
                var loss = weights is null ? ce.mean() : ce.mul(GroupLossWeights.OfRows(weights, groups!, batch.Indices, batch.Inputs.device)).mean();
                loss.backward();
                sgd.step();
            }
            var result = new EpochResult(epoch, evaluator.Evaluate(head, validation, Math.Max(1, validation.Count)));
            history.Add(result);
            double score = o.Selection.Scores([result])[0];
            logger.LogInformation("CRT ({Balancing}) epoch {Epoch}: validation {Rule} {Score:F4}", o.Balancing, epoch, o.Selection.Name, score);
            if (best is null || score > bestScore || (double.IsNaN(bestScore) && !double.IsNaN(score)))   // the first best; a NaN never wins over a number
            {
                best = LinearHead.Read(head);
                bestEpoch = epoch;
                bestScore = score;
            }
        }
        var budget = (LabelBudget)Math.Max((int)(groups is null ? LabelBudget.None : LabelBudget.TrainingGroups), (int)o.Selection.BudgetOn(validation));
        return new CrtResult { Head = best!, Epoch = bestEpoch, LabelBudget = budget, Validation = history };
    }
}
