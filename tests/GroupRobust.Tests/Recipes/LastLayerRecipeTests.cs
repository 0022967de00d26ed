using GroupRobust.Catalog;
using GroupRobust.Evaluation;
using GroupRobust.Groups;
using GroupRobust.Methods;
using GroupRobust.Randomness;
using GroupRobust.Recipes;
using GroupRobust.Tests.Methods;
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
}
