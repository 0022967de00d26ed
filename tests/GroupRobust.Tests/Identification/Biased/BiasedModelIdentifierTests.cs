using GroupRobust.Catalog;
using GroupRobust.Data;
using GroupRobust.Groups;
using GroupRobust.Identification;
using GroupRobust.Randomness;
using GroupRobust.Tests.TestSupport;
using TorchSharp;
using static TorchSharp.torch;

namespace GroupRobust.Tests.Identification;

public class BiasedModelIdentifierTests
{
    [Fact]
    public void The_GCE_trained_model_learns_the_easy_feature_and_its_errors_are_the_minority()
    {
        // the spurious coordinate 3x as far apart as the core one: the easy feature a biased model takes
        using var data = XrmIdentifierTests.Planted(1);
        var request = new IdentifierRequest
        {
            Seeds = new SeedSource(5), NewModel = XrmIdentifierTests.Twins(40), NewOptimizer = XrmIdentifierTests.Sgd,
            Options = new BiasedModelOptions { BatchSize = 32 },
        };
        var errors = MethodCatalog.BiasedModel.Create(request).Identify(data.Train.WithoutGroupLabels());
        var quality = errors.Quality(data.Train);
        // measured over data seeds 0-5 (one epoch of 32, SGD 0.1 with momentum): precision 0.79-0.86, recall 0.89-0.95;
        // an error set of the same size drawn at random has precision 0.10 (the minority share)
        Assert.True(quality.Precision > 0.7, quality.ToString());
        Assert.True(quality.Recall > 0.8, quality.ToString());
        Assert.True(errors.Metadata.IdentifiedByLibrary);
        Assert.Equal("gce-biased", errors.Metadata.Method);
        Assert.Equal(LabelBudget.None, MethodCatalog.BiasedModel.LabelBudget);
        // the same seeds give the same error set; the caller's dataset keeps its group labels
        var again = MethodCatalog.BiasedModel.Create(request with { NewModel = XrmIdentifierTests.Twins(40) }).Identify(data.Train.WithoutGroupLabels());
        Assert.Equal(errors.Groups.ToArray(), again.Groups.ToArray());
        Assert.True(data.Train.HasGroups);
    }

    [Fact]
    public void Bad_options_and_a_wrong_model_are_refused_with_the_argument_named()
    {
        Assert.Equal("Q", Assert.Throws<ArgumentOutOfRangeException>(() => new BiasedModelOptions { Q = 0 }.Validate()).ParamName);
        Assert.Equal("Epochs", Assert.Throws<ArgumentOutOfRangeException>(() => new BiasedModelOptions { Epochs = 0 }.Validate()).ParamName);
        Assert.Equal("BatchSize", Assert.Throws<ArgumentOutOfRangeException>(() => new BiasedModelOptions { BatchSize = 1 }.Validate()).ParamName);
        using var data = XrmIdentifierTests.Planted(1);
        var identifier = new BiasedModelIdentifier(() => nn.Linear(2, 3), p => torch.optim.SGD(p, 0.1), new SeedSource(0));
        var ex = Assert.Throws<ArgumentException>(() => identifier.Identify(data.Train));
        Assert.Equal("dataset", ex.ParamName);
        Assert.Contains("logits [B, 2]", ex.Message);
        Assert.Contains("NewModel", Assert.Throws<ArgumentException>(() => MethodCatalog.BiasedModel.Create(new IdentifierRequest { Seeds = new SeedSource(0) })).Message);
    }
}
