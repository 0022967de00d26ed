using GroupRobust.Catalog;
using GroupRobust.Data;
using GroupRobust.Groups;
using GroupRobust.Identification;
using GroupRobust.Randomness;
using TorchSharp;
using Xunit.Abstractions;
using static TorchSharp.torch;

namespace GroupRobust.Tests.Identification;

public class BamIdentifierTests(ITestOutputHelper output)
{
    [Fact]
    public void The_auxiliary_logits_absorb_the_minority_so_the_network_alone_gets_more_of_it_wrong()
    {
        using var data = XrmIdentifierTests.Planted(1);
        IdentificationQuality Quality(double lambda)
        {
            var request = new IdentifierRequest
            {
                Seeds = new SeedSource(5), NewModel = XrmIdentifierTests.Twins(40), NewOptimizer = XrmIdentifierTests.Sgd,
                Options = new BamOptions { BatchSize = 32, Epochs = 3, AuxiliaryWeight = lambda },
            };
            var errors = MethodCatalog.Bam.Create(request).Identify(data.Train.WithoutGroupLabels());
            Assert.Equal("bam", errors.Metadata.Method);
            Assert.True(errors.Metadata.IdentifiedByLibrary);
            return errors.Quality(data.Train);
        }
        // measured (SGD 0.1, momentum 0.9, batch 32, 3 epochs): lambda 0 (ERM) finds 56 of the 100 minority samples at
        // precision 70%; lambda 10 finds 81 at 85%. The strength is about lambda^2 lr / B per visit of a sample: at
        // lambda 50 every sample is fitted by its own logits at once and the network learns little (50 found).
        var plain = Quality(0);
        var amplified = Quality(10);
        output.WriteLine($"lambda 0: {plain}; lambda 10: {amplified}");
        Assert.True(amplified.Recall > plain.Recall + 0.1 && amplified.Precision > plain.Precision, $"lambda 0: {plain}; lambda 10: {amplified}");
        Assert.Equal(LabelBudget.None, MethodCatalog.Bam.LabelBudget);
    }

    [Fact]
    public void The_same_seeds_give_the_same_error_set_and_the_callers_dataset_keeps_its_groups()
    {
        using var data = XrmIdentifierTests.Planted(2);
        GroupAssignment Run() => new BamIdentifier(XrmIdentifierTests.Twins(41), XrmIdentifierTests.Sgd, new SeedSource(3), new BamOptions { BatchSize = 50, Epochs = 1 }).Identify(data.Train);
        Assert.Equal(Run().Groups.ToArray(), Run().Groups.ToArray());
        Assert.True(data.Train.HasGroups);
    }

    [Fact]
    public void Bad_options_and_a_wrong_model_are_refused_with_the_argument_named()
    {
        Assert.Equal("Epochs", Assert.Throws<ArgumentOutOfRangeException>(() => new BamOptions { Epochs = 0 }.Validate()).ParamName);
        Assert.Equal("AuxiliaryWeight", Assert.Throws<ArgumentOutOfRangeException>(() => new BamOptions { AuxiliaryWeight = -1 }.Validate()).ParamName);
        Assert.Equal("AuxiliaryWeight", Assert.Throws<ArgumentOutOfRangeException>(() => new BamOptions { AuxiliaryWeight = double.NaN }.Validate()).ParamName);
        Assert.Equal("BatchSize", Assert.Throws<ArgumentOutOfRangeException>(() => new BamOptions { BatchSize = 1 }.Validate()).ParamName);
        using var data = XrmIdentifierTests.Planted(1);
        var identifier = new BamIdentifier(() => nn.Linear(2, 3), p => torch.optim.SGD(p, 0.1), new SeedSource(0));
        var ex = Assert.Throws<ArgumentException>(() => identifier.Identify(data.Train));
        Assert.Equal("dataset", ex.ParamName);
        Assert.Contains("logits [B, 2]", ex.Message);
        Assert.Contains("NewModel", Assert.Throws<ArgumentException>(() => MethodCatalog.Bam.Create(new IdentifierRequest { Seeds = new SeedSource(0) })).Message);
    }
}
