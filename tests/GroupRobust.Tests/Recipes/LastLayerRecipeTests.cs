using GroupRobust.Catalog;
using GroupRobust.Evaluation;
using GroupRobust.Groups;
using GroupRobust.Methods;
using GroupRobust.Randomness;
using GroupRobust.Recipes;
using GroupRobust.Tests.Methods;
using GroupRobust.Tests.TestSupport;
using TorchSharp;

namespace GroupRobust.Tests.Recipes;

public class LastLayerRecipeTests
{
    [Fact]
    public void Retrain_replaces_only_the_last_layer_and_counts_the_validation_labels()
    {
        using var data = MethodFactory.Data(200);
        using var model = MethodFactory.Model(2);
        var lin1 = model.named_parameters().Where(p => p.name.StartsWith("lin1", StringComparison.Ordinal)).Select(p => p.parameter.detach().clone()).ToArray();
        var fcBefore = model.named_parameters().First(p => p.name == "fc.weight").parameter.detach().clone();
        using var run = LastLayerRecipe.Retrain(MethodCatalog.Dfr, model, data.Train, data.Validation, new SeedSource(1), new DfrOptions { Retrains = 2 });
        Assert.Same(model, run.Model);
        Assert.Equal(LabelBudget.ValidationGroupsForFitting, run.LabelBudget);
        Assert.Null(run.BaseHistory);
        foreach (var (before, (name, now)) in lin1.Zip(model.named_parameters().Where(p => p.name.StartsWith("lin1", StringComparison.Ordinal))))
            Assert.True(before.allclose(now, 0, 0), $"{name} changed");
        Assert.False(fcBefore.allclose(model.named_parameters().First(p => p.name == "fc.weight").parameter));
        Assert.Equal("featureBatchSize", Assert.Throws<ArgumentOutOfRangeException>(() => LastLayerRecipe.Retrain(MethodCatalog.Dfr, model, data.Train, data.Validation, new SeedSource(1), featureBatchSize: 0)).ParamName);
    }

    [Fact]
    public void Afr_trains_its_base_model_on_all_but_the_held_out_fifth()
    {
        using var data = MethodFactory.Data(200);
        using var run = LastLayerRecipe.TrainAndRetrain(MethodCatalog.Afr, data, MethodFactory.Model, p => torch.optim.SGD(p, 0.1), new SeedSource(3),
            new RecipeOptions { Epochs = 2, Phase1Epochs = 1, BatchSize = 32, Evaluator = new EvaluatorOptions { BootstrapSamples = 0 } },
            new AfrSearchOptions { Gammas = [2, 6], Lambdas = [0], Steps = 10, LearningRate = 0.2 });
        Assert.Equal(LabelBudget.ValidationGroupsForSelection, run.LabelBudget);
        Assert.Equal(2, run.BaseHistory!.Epochs.Count);
        Assert.All(run.BaseHistory.Epochs, e => Assert.Equal(160, e.Method.Samples));   // 80% of 200
        Assert.IsType<AfrResult>(run.Fit.Details);
        Assert.Contains("gamma", run.Fit.Summary);
    }

    [Fact]
    public void A_new_last_layer_that_does_not_beat_the_one_it_replaces_on_validation_worst_group_says_so()
    {
        using var data = MethodFactory.Data(200);
        const string Warned = "retraining the head did not improve on the model it started from";

        // features that carry nothing (every hidden weight and bias zero): any head predicts one class everywhere, so
        // its validation worst-group accuracy is 0 before and after; the fit is in-sample for DFR and the message says so
        foreach (var (entry, options) in new (LastLayerEntry, object?)[]
        {
            (MethodCatalog.Dfr, new DfrOptions { Retrains = 2 }),
            (MethodCatalog.Afr, new AfrSearchOptions { Gammas = [2], Lambdas = [0], Steps = 5, LearningRate = 0.2 }),
            (MethodCatalog.VanillaCrt, (CrtOptions)MethodCatalog.VanillaCrt.Defaults! with { Epochs = 2 }),
            (MethodCatalog.Crt, (CrtOptions)MethodCatalog.Crt.Defaults! with { Epochs = 2 }),   // fitted on the training groups, not validation's
        })
        {
            using var blind = Blind();
            var loggers = new ListLoggerFactory();
            using (LastLayerRecipe.Retrain(entry, blind, data.Train, data.Validation, new SeedSource(1), options, loggers: loggers)) { }
            var warning = Assert.Single(loggers.Logger.Messages, m => m.Contains(Warned));
            Assert.StartsWith(entry.Name + ": the new last layer's validation worst-group accuracy (0.0", warning);
            Assert.Equal(entry == MethodCatalog.Dfr, warning.Contains("though it was fitted on this split's groups", StringComparison.Ordinal));
        }

        // a fit that reads no group label (VanillaCRT's epoch by average accuracy) is not judged on them
        using (var blind = Blind())
        {
            var loggers = new ListLoggerFactory();
            var options = (CrtOptions)MethodCatalog.VanillaCrt.Defaults! with { Epochs = 2, Selection = SelectionRule.AverageAccuracy };
            using var run = LastLayerRecipe.Retrain(MethodCatalog.VanillaCrt, blind, data.Train, data.Validation, new SeedSource(1), options, loggers: loggers);
            Assert.Equal(LabelBudget.None, run.LabelBudget);
            Assert.DoesNotContain(loggers.Logger.Messages, m => m.Contains(Warned));
        }

        // a head that predicts class 0 everywhere (worst-group 0) on informative features: DFR's new layer does better, silently
        using (var model = MethodFactory.Model(2))
        {
            using (torch.no_grad())
            {
                var fc = model.named_parameters().ToDictionary(p => p.name, p => p.parameter);
                fc["fc.weight"].zero_();
                fc["fc.bias"].copy_(torch.tensor(new[] { 1f, 0f }));
            }
            var loggers = new ListLoggerFactory();
            using (LastLayerRecipe.Retrain(MethodCatalog.Dfr, model, data.Train, data.Validation, new SeedSource(1), new DfrOptions { Retrains = 2 }, loggers: loggers)) { }
            Assert.DoesNotContain(loggers.Logger.Messages, m => m.Contains(Warned));
        }
    }

    [Fact]
    public void A_head_retrained_on_a_base_model_the_recipe_trained_is_compared_with_that_trainings_best_epoch()
    {
        using var data = MethodFactory.Data(200);
        // a base model trained first, then by gradient ascent (SGD maximising the loss) in the recipe's ERM: an earlier
        // epoch is better on validation than its last, the layer AFR starts from; AFR's one tiny step stays at that last
        // layer, so it does not reach the best epoch
        using var good = MethodFactory.Model(5);
        using (var sgd = torch.optim.SGD(good.parameters(), 0.5))
        using (var batch = data.Train.GetBatch(Enumerable.Range(0, data.Train.Count).Select(i => (long)i).ToArray()))
            for (int step = 0; step < 200; step++)
            {
                using var scope = torch.NewDisposeScope();
                sgd.zero_grad();
                torch.nn.functional.cross_entropy(good.call(batch.Inputs), batch.Labels).backward();
                sgd.step();
            }
        var loggers = new ListLoggerFactory();
        using var run = LastLayerRecipe.TrainAndRetrain(MethodCatalog.Afr, data, _ => Copy(good), p => torch.optim.SGD(p, 0.05, maximize: true), new SeedSource(3),
            new RecipeOptions { Epochs = 3, Phase1Epochs = 1, BatchSize = 32, Evaluator = new EvaluatorOptions { BootstrapSamples = 0 } },
            new AfrSearchOptions { Gammas = [2], Lambdas = [0], Steps = 1, LearningRate = 1e-6 }, loggers);
        var worst = run.BaseHistory!.ValidationHistory.Select(e => e.Result.WorstGroupAccuracy!.Value).ToArray();
        Assert.True(worst.Max() > worst[^1], $"the ascent did not make the last epoch worse: {string.Join(", ", worst)}");
        var warning = Assert.Single(loggers.Logger.Messages, m => m.Contains("retraining the head did not improve on the model it started from"));
        Assert.Contains($"the best epoch of the base model's ERM training, {1 + Array.IndexOf(worst, worst.Max())} of 3", warning);
    }

    private static TorchSharp.torch.nn.Module<TorchSharp.torch.Tensor, TorchSharp.torch.Tensor> Copy(TorchSharp.torch.nn.Module<TorchSharp.torch.Tensor, TorchSharp.torch.Tensor> source)
    {
        var copy = MethodFactory.Model(0);
        using var noGrad = torch.no_grad();
        foreach (var ((_, to), (_, from)) in copy.named_parameters().Zip(source.named_parameters())) to.copy_(from);
        return copy;
    }

    /// <summary>The test model with every weight and bias of its hidden layer zero: its features are zero for every input.</summary>
    private static TorchSharp.torch.nn.Module<TorchSharp.torch.Tensor, TorchSharp.torch.Tensor> Blind()
    {
        var model = MethodFactory.Model(2);
        using var noGrad = torch.no_grad();
        foreach (var (name, p) in model.named_parameters().Where(p => p.name.StartsWith("lin1", StringComparison.Ordinal))) p.zero_();
        return model;
    }
}
