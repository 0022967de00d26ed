using GroupRobust.Catalog;
using GroupRobust.Data;
using GroupRobust.Evaluation;
using GroupRobust.Recipes;
using GroupRobust.Randomness;
using GroupRobust.Tests.Methods;
using TorchSharp;

namespace GroupRobust.Tests.Recipes;

/// <summary>An adversarial trial of the recipes: pieces of one recipe handed to another, and pieces used after disposal.</summary>
public class RecipeMisuseTests
{
    private static readonly RecipeOptions Options = new() { Epochs = 2, Phase1Epochs = 1, BatchSize = 50, EvaluationBatchSize = 100, Evaluator = new EvaluatorOptions { BootstrapSamples = 0 } };

    private static TwoPhaseRecipe Recipe(DatasetSplits data) => new(data, MethodFactory.Model, p => torch.optim.Adam(p, 0.01), new SeedSource(1), Options);

    private static DatasetSplits Other(int trainSize, int seed)
        => SyntheticGaussianDataset.Create(new SyntheticGaussianOptions { TrainSize = trainSize, ValidationSize = 100, TestSize = 100, SpuriousScale = 3, Seed = seed });

    [Fact]
    public void Phase_one_or_groups_of_another_recipes_data_are_refused_and_a_disposed_phase_one_says_so()
    {
        using var data = MethodFactory.Data(100);
        using var sameSize = Other(100, 11);
        using var smaller = Other(80, 4);
        var recipe = Recipe(data);
        using var phaseOne = Recipe(sameSize).TrainPhaseOne();

        // phase I of another split of the same size (other labels), and of another size
        var e1 = Assert.Throws<ArgumentException>(() => recipe.Identify(phaseOne));
        Assert.Equal("phaseOne", e1.ParamName);
        Assert.Contains("other labels", e1.Message);
        using (var small = Recipe(smaller).TrainPhaseOne())
            Assert.Contains("(80 samples) than this recipe's (100, another size)", Assert.Throws<ArgumentException>(() => recipe.Identify(small)).Message);

        // a recipe over the same training split (another object with the same labels) may reuse it
        var copy = new DatasetSplits(new UngroupedView(data.Train), data.Validation, data.Test);   // shares data's splits: not disposed here
        using (var own = recipe.TrainPhaseOne())
            Assert.Equal(100, Recipe(copy).Identify(own).Groups.Count);

        // groups identified on another recipe's data: the method refuses them, naming the groups
        var foreign = Recipe(sameSize).Identify(phaseOne);
        var e2 = Assert.Throws<ArgumentException>(() => recipe.Train(MethodCatalog.Jm1, foreign));
        Assert.Contains("another dataset", e2.Message);

        // after Dispose, phase I's weights are gone: a clear ObjectDisposedException, not "kept the weights of epochs  only"
        var disposed = Recipe(sameSize).TrainPhaseOne();
        disposed.Dispose();
        Assert.Throws<ObjectDisposedException>(() => disposed.ModelAt(1));
        Assert.Throws<ObjectDisposedException>(() => disposed.FinalModel());
        Assert.Throws<ObjectDisposedException>(() => Recipe(sameSize).Identify(disposed));
    }
}
