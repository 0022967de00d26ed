using GroupRobust.Catalog;
using GroupRobust.Data;
using GroupRobust.Groups;
using GroupRobust.Identification;
using GroupRobust.Methods;
using GroupRobust.Randomness;
using GroupRobust.Recipes;
using GroupRobust.Tests.Methods;
using TorchSharp;
using TorchSharp.Modules;
using Xunit.Abstractions;
using static TorchSharp.torch;

namespace GroupRobust.Tests.Identification;

public class SsaIdentifierTests(ITestOutputHelper output)
{
    private static readonly SsaOptions Fast = new() { Splits = 2, Steps = 60, BatchSize = 32, EvaluateEvery = 10 };

    private static Func<nn.Module<Tensor, Tensor>> Networks(int seed)
    {
        int next = seed;
        return () => MethodFactory.Model(next++);
    }

    private static OptimizerHelper Sgd(IEnumerable<Parameter> parameters) => torch.optim.SGD(parameters, 0.1, momentum: 0.9);

    [Fact]
    public void The_predicted_attribute_recovers_the_planted_groups_and_carries_the_validation_budget()
    {
        using var data = XrmIdentifierTests.Planted(3);
        var groups = new SsaIdentifier(Networks(10), Sgd, data.Validation, new SeedSource(1), Fast).Identify(data.Train.WithoutGroupLabels());
        var truth = data.Train.Groups.ToArray();
        double agreement = groups.Groups.ToArray().Zip(truth).Count(p => p.First == p.Second) / (double)truth.Length;
        var quality = groups.Quality(data.Train);
        output.WriteLine($"SSA: groups agree with the true ones on {agreement:P1}; minority side {quality}; {groups}");
        // the attribute is dimension 0 at scale 3 with sigma 0.5: a linear read-out separates it almost perfectly
        Assert.True(agreement > 0.95, $"agreement {agreement:P1}");
        Assert.True(quality.Precision > 0.8 && quality.Recall > 0.8, quality.ToString());
        Assert.Equal(GroupSource.FittedOnValidationGroups, groups.Source);
        Assert.Equal(LabelBudget.ValidationGroupsForFitting, groups.TrainingBudget);
        Assert.Equal(data.Train.Scheme.AttributeNames, groups.Metadata.ValueNames);
        Assert.Equal("ssa", groups.Metadata.Method);
        Assert.Equal(2, groups.Metadata.Parameters["selectionAccuracyPerFold"].Split(',').Length);
        // a method trained on them counts the validation labels SSA fitted on: no budget is laundered through the groups
        using var dro = new GroupDroMethod(groups, new SeedSource(0));
        Assert.Equal(LabelBudget.ValidationGroupsForFitting, dro.LabelBudget);
        Assert.Contains("inferred from validation groups", groups.ToString());
    }

    [Fact]
    public void The_same_seeds_give_the_same_groups_and_a_saved_assignment_keeps_its_source()
    {
        using var data = XrmIdentifierTests.Planted(4);
        var options = Fast with { Steps = 20 };
        GroupAssignment Run() => new SsaIdentifier(Networks(20), Sgd, data.Validation, new SeedSource(2), options).Identify(data.Train);
        var first = Run();
        Assert.Equal(first.Groups.ToArray(), Run().Groups.ToArray());
        Assert.True(data.Train.HasGroups && data.Validation.HasGroups);
        using var stream = new MemoryStream();
        first.Save(stream);
        stream.Position = 0;
        var loaded = GroupAssignment.Load(stream, data.Train);
        Assert.Equal(GroupSource.FittedOnValidationGroups, loaded.Source);
        Assert.Equal(LabelBudget.ValidationGroupsForFitting, loaded.TrainingBudget);
    }

    [Fact]
    public void Pseudo_labels_are_the_confident_rarest_attribute_and_as_many_of_the_others_as_balance_it()
    {
        // labelled batch: attribute 0 x 5, attribute 1 x 1 (the rarest), attribute 2 x 2
        long[] labelled = [0, 0, 0, 0, 0, 1, 2, 2];
        // unlabelled predictions: rows 0 and 1 are confident attribute-1 predictions, row 2 is not confident enough
        long[] prediction = [1, 1, 1, 0, 0, 2, 2, 2, 2];
        float[] confidence = [0.99f, 0.96f, 0.90f, 0.8f, 0.7f, 0.5f, 0.9f, 0.6f, 0.95f];
        var selected = SsaIdentifier.Select(confidence, prediction, labelled, rarest: 1, attributes: 3, threshold: 0.95, out var pseudo);
        // attribute 1: rows 0, 1 (n = 1 + 2 = 3); attribute 0: 3 - 5 < 0, none; attribute 2: 3 - 2 = 1, its most confident (row 8)
        Assert.Equal([0L, 1, 8], selected);
        Assert.Equal([1L, 1, 2], pseudo);
        // an attribute absent from the labelled batch (2) gets no pseudo-label, as in the reference; attribute 0: 3 - 2 = 1 (row 3)
        Assert.Equal([0L, 1, 3], SsaIdentifier.Select(confidence, prediction, [0, 0, 1], 1, 3, 0.95, out _));
        Assert.Equal(1, SsaIdentifier.RarestAttribute([0, 0, 1, 2, 2, 1, 0], 4));
    }

    [Fact]
    public void The_recipe_hands_ssa_the_validation_split_and_the_run_counts_its_labels()
    {
        using var data = XrmIdentifierTests.Planted(5);
        var recipe = new TwoPhaseRecipe(data, seed => MethodFactory.Model(seed), Sgd, new SeedSource(3), new RecipeOptions { Phase1Epochs = 1, Epochs = 1, BatchSize = 50 });
        var groups = recipe.Identify(MethodCatalog.Ssa, Fast with { Steps = 10 });
        Assert.Equal(LabelBudget.ValidationGroupsForFitting, groups.LabelBudget);
        using var run = recipe.Train(MethodCatalog.GroupDro, groups);
        Assert.Equal(LabelBudget.ValidationGroupsForFitting, run.LabelBudget);
        Assert.Equal(LabelBudget.ValidationGroupsForFitting, MethodCatalog.Ssa.LabelBudget);
    }

    [Fact]
    public void Bad_input_is_refused_with_the_argument_named()
    {
        Assert.Equal("Splits", Assert.Throws<ArgumentOutOfRangeException>(() => new SsaOptions { Splits = 1 }.Validate()).ParamName);
        Assert.Equal("Steps", Assert.Throws<ArgumentOutOfRangeException>(() => new SsaOptions { Steps = 0 }.Validate()).ParamName);
        Assert.Equal("SelectionFraction", Assert.Throws<ArgumentOutOfRangeException>(() => new SsaOptions { SelectionFraction = 1 }.Validate()).ParamName);
        Assert.Equal("Threshold", Assert.Throws<ArgumentOutOfRangeException>(() => new SsaOptions { Threshold = 0 }.Validate()).ParamName);
        Assert.Equal("Threshold", Assert.Throws<ArgumentOutOfRangeException>(() => new SsaOptions { Threshold = double.NaN }.Validate()).ParamName);
        Assert.Equal("BatchSize", Assert.Throws<ArgumentOutOfRangeException>(() => new SsaOptions { BatchSize = 1 }.Validate()).ParamName);
        Assert.Equal("EvaluateEvery", Assert.Throws<ArgumentOutOfRangeException>(() => new SsaOptions { EvaluateEvery = 0 }.Validate()).ParamName);
        using var data = XrmIdentifierTests.Planted(1);
        var ex = Assert.Throws<ArgumentException>(() => new SsaIdentifier(Networks(0), Sgd, data.Validation.WithoutGroupLabels(), new SeedSource(0)));
        Assert.Equal("validation", ex.ParamName);
        Assert.Contains("group labels", ex.Message);
        using var oneAttribute = TestSupport.Tiny.Dataset([0, 1, 0, 1], [0, 0, 0, 0], new GroupScheme(2, 1));
        ex = Assert.Throws<ArgumentException>(() => new SsaIdentifier(Networks(0), Sgd, oneAttribute, new SeedSource(0)));
        Assert.Equal("validation", ex.ParamName);
        Assert.Contains("1 attribute value", ex.Message);
        using var single = TestSupport.Tiny.Dataset([0], [1]);
        ex = Assert.Throws<ArgumentException>(() => new SsaIdentifier(Networks(0), Sgd, single, new SeedSource(0)));
        Assert.Equal("validation", ex.ParamName);
        Assert.Contains("1 sample", ex.Message);
        using var other = TestSupport.Tiny.Dataset([0, 1, 2, 0], [0, 1, 0, 1], new GroupScheme(3, 2));
        ex = Assert.Throws<ArgumentException>(() => new SsaIdentifier(Networks(0), Sgd, other, new SeedSource(0), Fast).Identify(data.Train));
        Assert.Equal("dataset", ex.ParamName);
        Assert.Contains("3 x 2", ex.Message);
        ex = Assert.Throws<ArgumentException>(() => new SsaIdentifier(() => Seeded(nn.Linear(2, 2)), Sgd, data.Validation, new SeedSource(0), Fast).Identify(data.Train));
        Assert.Equal("modelFactory", ex.ParamName);
        ex = Assert.Throws<ArgumentException>(() => MethodCatalog.Ssa.Create(new IdentifierRequest { Seeds = new SeedSource(0), NewModel = Networks(0), NewOptimizer = Sgd }));
        Assert.Equal("request.Validation", ex.ParamName);
        ex = Assert.Throws<ArgumentException>(() => MethodCatalog.Ssa.Create(new IdentifierRequest { Seeds = new SeedSource(0), NewModel = Networks(0), NewOptimizer = Sgd, Validation = data.Validation.WithoutGroupLabels() }));
        Assert.Contains("has none", ex.Message);
    }

    private static nn.Module<Tensor, Tensor> Seeded(nn.Module<Tensor, Tensor> module) => TestSupport.Seeded.Init(module, 0);
}
