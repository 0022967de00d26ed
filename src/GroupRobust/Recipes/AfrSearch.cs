using System.Globalization;
using GroupRobust.Data;
using GroupRobust.Evaluation;
using GroupRobust.Groups;
using GroupRobust.Randomness;
using GroupRobust.Training;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using TorchSharp;
using static TorchSharp.torch;
using GroupRobust.Methods;
using GroupRobust.Models;

namespace GroupRobust.Recipes;

/// <summary>
/// AFR's protocol (AndPotap/afr notebooks): for every (gamma, lambda) of a grid, train the last layer from the ERM head
/// with <see cref="AfrMethod"/> by full-batch SGD (no momentum, no weight decay, gradient norm clipped at 1) for a fixed
/// number of steps, evaluate validation after every step and keep the best step by validation worst-group accuracy; the
/// configuration with the best such score wins (strict improvement, so grid order breaks ties). Validation group labels
/// are used for this selection only. Each step is one <see cref="TrainingLoop"/> epoch.
/// </summary>
public static class AfrSearch
{
    /// <summary>Runs the search and returns the chosen last layer.</summary>
    /// <param name="heldOut">Features of the held-out part of the training split (the ERM model never trained on it).</param>
    /// <param name="validation">Validation features with group labels.</param>
    /// <param name="initial">The ERM head (W0, b0).</param>
    /// <param name="gammas">The gamma grid (the reference's Waterbirds grid: 33 values from 4 to 20).</param>
    /// <param name="lambdas">The lambda grid (Waterbirds: 0, 0.1, 0.2, 0.3).</param>
    /// <param name="seeds">Seed source of the methods.</param>
    /// <param name="steps">Full-batch steps per configuration, at least 1 (Waterbirds 500).</param>
    /// <param name="learningRate">SGD learning rate (Waterbirds 1e-2).</param>
    /// <param name="logger">Receives each configuration's best validation score.</param>
    /// <exception cref="ArgumentException">A grid is empty, or validation has no group labels.</exception>
    public static AfrResult Run(TensorGroupDataset heldOut, TensorGroupDataset validation, LinearHead initial, IReadOnlyList<double> gammas, IReadOnlyList<double> lambdas,
        SeedSource seeds, int steps = 500, double learningRate = 1e-2, ILogger? logger = null)
    {
        ArgumentNullException.ThrowIfNull(heldOut);
        ArgumentNullException.ThrowIfNull(validation);
        ArgumentNullException.ThrowIfNull(initial);
        ArgumentNullException.ThrowIfNull(gammas);
        ArgumentNullException.ThrowIfNull(lambdas);
        ArgumentNullException.ThrowIfNull(seeds);
        if (gammas.Count == 0 || lambdas.Count == 0) throw new ArgumentException("The gamma and lambda grids must not be empty.", nameof(gammas));
        if (!validation.HasGroups) throw new ArgumentException("AFR chooses gamma, lambda and the step by validation worst-group accuracy; the validation features have no group labels.", nameof(validation));
        ArgumentOutOfRangeException.ThrowIfLessThan(steps, 1);
        if (!(learningRate > 0 && double.IsFinite(learningRate))) throw new ArgumentOutOfRangeException(nameof(learningRate), learningRate, "Must be a finite number > 0.");
        logger ??= NullLogger.Instance;
        AfrResult? best = null;
        var scores = new List<(double Gamma, double Lambda, int Step, double Score)>();
        foreach (var gamma in gammas)
        {
            foreach (var lambda in lambdas)
            {
                var options = new AfrOptions { Gamma = gamma, Lambda = lambda };
                using var head = nn.Linear(initial.Features, initial.Classes);
                if (heldOut.Device.type != DeviceType.CPU) head.to(heldOut.Device);
                initial.Load(head);
                using var method = new AfrMethod(heldOut, initial, seeds.Child(string.Create(CultureInfo.InvariantCulture, $"afr-{gamma:R}-{lambda:R}")), options);
                using var sgd = torch.optim.SGD(head.parameters(), learningRate);
                var history = TrainingLoop.Run(method, head, sgd, heldOut, validation, new TrainingLoopOptions
                {
                    Epochs = steps, BatchSize = heldOut.Count, EvaluationBatchSize = Math.Max(1, validation.Count), MaxGradientNorm = 1.0,
                    Selection = SelectionCriterion.WorstGroupAccuracy, Evaluator = new EvaluatorOptions { BootstrapSamples = 0 },
                });
                double score = history.Best.Validation.WorstGroupAccuracy ?? double.NaN;
                scores.Add((gamma, lambda, history.Best.Epoch, score));
                logger.LogInformation("AFR gamma {Gamma}, lambda {Lambda}: best validation worst-group {Score:P2} at step {Step}", gamma, lambda, score, history.Best.Epoch);
                if (best is null || score > best.ValidationWorstGroup || (double.IsNaN(best.ValidationWorstGroup) && !double.IsNaN(score)))
                    best = new AfrResult
                    {
                        Head = LinearHead.Read(head), Gamma = gamma, Lambda = lambda, Step = history.Best.Epoch, ValidationWorstGroup = score,
                        LabelBudget = LabelBudget.ValidationGroupsForSelection, Grid = scores,
                    };
            }
        }
        return best! with { Grid = scores };
    }
}
