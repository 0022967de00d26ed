using System.Globalization;
using GroupRobust.Data;
using GroupRobust.Evaluation;
using GroupRobust.Groups;
using GroupRobust.Models;
using GroupRobust.Randomness;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using TorchSharp;
using static TorchSharp.torch;

namespace GroupRobust.Methods;

/// <summary>
/// AFR's protocol (AndPotap/afr notebooks): for every (gamma, lambda) of a grid, train the last layer from the ERM head
/// with <see cref="AfrMethod"/> by full-batch SGD (no momentum, no weight decay, gradient norm clipped at 1) for a fixed
/// number of steps, evaluate validation after every step and keep the best step by validation worst-group accuracy (the
/// first best); the configuration with the best such score wins (strict improvement, so grid order breaks ties).
/// Validation group labels are used for this selection only.
/// </summary>
public static class AfrSearch
{
    /// <summary>Runs the search and returns the chosen last layer.</summary>
    /// <param name="heldOut">Features of the held-out part of the training split (the ERM model never trained on it).</param>
    /// <param name="validation">Validation features with group labels.</param>
    /// <param name="initial">The ERM head (W0, b0).</param>
    /// <param name="seeds">Seed source of the methods.</param>
    /// <param name="options">The grids and the schedule; the reference's Waterbirds settings when null.</param>
    /// <param name="logger">Receives each configuration's best validation score.</param>
    /// <exception cref="ArgumentException">A grid is empty, or validation has no group labels.</exception>
    /// <exception cref="ArgumentOutOfRangeException">A grid value or a schedule option is out of range (before any configuration trains).</exception>
    public static AfrResult Run(TensorGroupDataset heldOut, TensorGroupDataset validation, LinearHead initial, SeedSource seeds, AfrSearchOptions? options = null, ILogger? logger = null)
    {
        ArgumentNullException.ThrowIfNull(heldOut);
        ArgumentNullException.ThrowIfNull(validation);
        ArgumentNullException.ThrowIfNull(initial);
        ArgumentNullException.ThrowIfNull(seeds);
        var o = options ?? new AfrSearchOptions();
        o.Validate();
        if (!validation.HasGroups) throw new ArgumentException("AFR chooses gamma, lambda and the step by validation worst-group accuracy; the validation features have no group labels.", nameof(validation));
        logger ??= NullLogger.Instance;
        AfrResult? best = null;
        var scores = new List<(double Gamma, double Lambda, int Step, double Score)>();
        using var evaluator = new WorstGroupEvaluator(validation.Scheme, new EvaluatorOptions { BootstrapSamples = 0 });
        foreach (var gamma in o.Gammas)
        {
            foreach (var lambda in o.Lambdas)
            {
                var (head, step, score) = Train(heldOut, validation, initial, evaluator, seeds.Child(string.Create(CultureInfo.InvariantCulture, $"afr-{gamma:R}-{lambda:R}")),
                    new AfrOptions { Gamma = gamma, Lambda = lambda }, o);
                scores.Add((gamma, lambda, step, score));
                logger.LogInformation("AFR gamma {Gamma}, lambda {Lambda}: best validation worst-group {Score:P2} at step {Step}", gamma, lambda, score, step);
                if (best is null || score > best.ValidationWorstGroup || (double.IsNaN(best.ValidationWorstGroup) && !double.IsNaN(score)))
                    best = new AfrResult { Head = head, Gamma = gamma, Lambda = lambda, Step = step, ValidationWorstGroup = score, LabelBudget = LabelBudget.ValidationGroupsForSelection, Grid = scores };
            }
        }
        return best! with { Grid = scores };
    }

    /// <summary>One configuration: full-batch steps from the ERM head, validation after each; the first best step's head.</summary>
    private static (LinearHead Head, int Step, double Score) Train(TensorGroupDataset heldOut, TensorGroupDataset validation, LinearHead initial, WorstGroupEvaluator evaluator,
        SeedSource seeds, AfrOptions options, AfrSearchOptions search)
    {
        using var head = nn.Linear(initial.Features, initial.Classes);
        if (heldOut.Device.type != DeviceType.CPU) head.to(heldOut.Device);
        initial.Load(head);
        using var method = new AfrMethod(heldOut, initial, seeds, options);
        using var sgd = torch.optim.SGD(head.parameters(), search.LearningRate);
        LinearHead? bestHead = null;
        int bestStep = 0;
        double bestScore = double.NaN;
        for (int step = 1; step <= search.Steps; step++)
        {
            head.train();
            var order = method.BeginEpoch(step, search.Steps);   // the whole held-out set: one full batch
            using (var scope = NewDisposeScope())
            using (var batch = heldOut.GetBatch(order))
            {
                sgd.zero_grad();
                method.Loss(head, batch).backward();
                nn.utils.clip_grad_norm_(head.parameters(), search.MaxGradientNorm);
                sgd.step();
            }
            method.EndEpoch();
            double score = evaluator.Evaluate(head, validation, Math.Max(1, validation.Count)).WorstGroupAccuracy ?? double.NaN;
            if (bestHead is null || score > bestScore || (double.IsNaN(bestScore) && !double.IsNaN(score)))   // a NaN score never wins over a number
            {
                bestHead = LinearHead.Read(head);
                bestStep = step;
                bestScore = score;
            }
        }
        return (bestHead!, bestStep, bestScore);
    }
}
