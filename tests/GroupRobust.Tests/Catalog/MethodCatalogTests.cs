using GroupRobust.Catalog;
using GroupRobust.Data;
using GroupRobust.Groups;
using GroupRobust.Identification;
using GroupRobust.Methods;
using GroupRobust.Models;
using GroupRobust.Randomness;
using GroupRobust.Tests.Methods;
using TorchSharp;

namespace GroupRobust.Tests.Catalog;

public class MethodCatalogTests
{
    [Fact]
    public void Every_entry_has_a_unique_key_a_name_a_reference_and_default_options()
    {
        var keys = MethodCatalog.Methods.Select(e => e.Key).Concat(MethodCatalog.LastLayer.Select(e => e.Key)).Concat(MethodCatalog.Identifiers.Select(e => e.Key)).ToList();
        Assert.Equal(keys.Count, keys.Distinct().Count());
        Assert.All(keys, k => Assert.Matches("^[a-z0-9-]+$", k));
        Assert.All(MethodCatalog.Methods, e =>
        {
            Assert.False(string.IsNullOrWhiteSpace(e.Name + e.Description + e.Reference));
            Assert.NotNull(e.Defaults);
            Assert.Same(e, MethodCatalog.Method(e.Key));
            Assert.Equal(e.TakesGroups, e.PublishedGroups is not null);
        });
        Assert.All(MethodCatalog.Identifiers, e => Assert.Same(e, MethodCatalog.Identifier(e.Key)));
        Assert.All(MethodCatalog.LastLayer, e => Assert.Same(e, MethodCatalog.LastLayerMethod(e.Key)));
        Assert.Contains("jm1, ", Assert.Throws<ArgumentException>(() => MethodCatalog.Method("nope")).Message);
        Assert.Contains("misclassified", Assert.Throws<ArgumentException>(() => MethodCatalog.Identifier("nope")).Message);
        Assert.Contains("dfr", Assert.Throws<ArgumentException>(() => MethodCatalog.LastLayerMethod("nope")).Message);
    }

    [Fact]
    public void Every_method_is_built_with_its_defaults_and_its_name_and_budget_follow_the_groups()
    {
        using var data = MethodFactory.Data(100);
        var errorSet = GroupAssignment.FromErrorSet(Enumerable.Range(0, 100).Select(i => i % 4 == 0).ToArray(), data.Train, "test");
        var truth = GroupAssignment.FromTrueGroups(data.Train);
        foreach (var entry in MethodCatalog.Methods)
        {
            using (var method = entry.Create(new MethodRequest { Train = data.Train, Groups = errorSet, Seeds = new SeedSource(0) }))
            {
                Assert.Equal(LabelBudget.None, method.LabelBudget);
                Assert.StartsWith(entry.Name.Split(' ')[0], method.Name, StringComparison.OrdinalIgnoreCase);
                Assert.Equal(LabelBudget.None, entry.TrainingBudget(errorSet));
            }
            if (!entry.TakesGroups) continue;
            using (var oracle = entry.Create(new MethodRequest { Train = data.Train, Groups = truth, Seeds = new SeedSource(0) }))
                Assert.Equal(LabelBudget.TrainingGroups, oracle.LabelBudget);
            Assert.Equal(LabelBudget.TrainingGroups, entry.TrainingBudget(truth));
            Assert.Contains("trains on groups", Assert.Throws<ArgumentException>(() => entry.Create(new MethodRequest { Train = data.Train, Seeds = new SeedSource(0) })).Message);
        }
        var ex = Assert.Throws<ArgumentException>(() => MethodCatalog.Jm1.Create(new MethodRequest { Train = data.Train, Groups = errorSet, Seeds = new SeedSource(0), Options = new JttOptions() }));
        Assert.Contains("Jm1Options", ex.Message);
        Assert.Contains("JttOptions", ex.Message);
    }

    [Fact]
    public void The_sam_entry_is_group_balanced_erm_with_sams_step_and_lff_builds_its_pair()
    {
        Assert.Contains("SAM", MethodCatalog.BalancedErmSam.Step.Name);
        Assert.Equal("", MethodCatalog.BalancedErm.Step.Name);
        using var data = MethodFactory.Data(100);
        using var method = (ErmMethod)MethodCatalog.BalancedErmSam.Create(new MethodRequest { Train = data.Train, Groups = GroupAssignment.FromTrueGroups(data.Train), Seeds = new SeedSource(0) });
        Assert.Equal("ERM (group-balanced)", method.Name);
        Assert.Equal(LabelBudget.TrainingGroups, method.LabelBudget);
        var order = method.BeginEpoch(1, 1);
        var groups = data.Train.Groups.ToArray();
        var perGroup = order.GroupBy(i => groups[(int)i]).ToDictionary(g => g.Key, g => g.Count());
        Assert.All(perGroup.Values, c => Assert.InRange(c, 100 / 4 / 2, 100 / 4 * 2));   // every group drawn about equally often
        var seeds = new List<long>();
        using var pair = MethodCatalog.Lff.CreateModel(s => { seeds.Add(s); return MethodFactory.Model(s); }, new SeedSource(5));
        Assert.IsType<LffModel>(pair);
        Assert.Equal([new SeedSource(5).Derive("model-init"), new SeedSource(5).Derive("lff-biased-init")], seeds);
    }

    [Fact]
    public void Identifiers_say_what_they_need_and_what_they_read()
    {
        using var data = MethodFactory.Data(100);
        using var model = MethodFactory.Model(1);
        var request = new IdentifierRequest { Model = model, Epoch = 2, Seeds = new SeedSource(0), Options = new IdentificationOptions { BatchSize = 32 } };
        var errorSet = MethodCatalog.Misclassified.Create(request).Identify(data.Train);
        Assert.Equal(2, errorSet.Metadata.Epoch);
        Assert.Equal(LabelBudget.None, MethodCatalog.Misclassified.LabelBudget);
        Assert.Equal(GroupSource.TrueLabels, MethodCatalog.TrueGroups.Create(new IdentifierRequest { Seeds = new SeedSource(0) }).Identify(data.Train).Source);
        Assert.Equal(LabelBudget.TrainingGroups, MethodCatalog.Oracle.LabelBudget);
        Assert.Contains("phase-I model", Assert.Throws<ArgumentException>(() => MethodCatalog.Eiil.Create(new IdentifierRequest { Seeds = new SeedSource(0) })).Message);
        Assert.Contains("NewModel", Assert.Throws<ArgumentException>(() => MethodCatalog.Xrm.Create(new IdentifierRequest { Seeds = new SeedSource(0) })).Message);
        var xrm = MethodCatalog.Xrm.Create(new IdentifierRequest
        {
            Seeds = new SeedSource(0), NewModel = () => MethodFactory.Model(1), NewOptimizer = p => torch.optim.SGD(p, 0.1), Options = new XrmOptions { Steps = 5, BatchSize = 16 },
        });
        Assert.IsAssignableFrom<IValidationIdentifier>(xrm);
        var loss = MethodCatalog.LossMagnitude.Create(request with { Options = new LossMagnitudeOptions { Fraction = 0.25 } }).Identify(data.Train);
        Assert.Equal(25, loss.MinorityCount);
    }

    [Fact]
    public void Last_layer_methods_fit_a_head_on_features()
    {
        using var data = MethodFactory.Data(200);
        using var model = MethodFactory.Model(1);
        using var train = FeatureExtractor.Extract(model, data.Train.WithoutGroupLabels());
        using var validation = FeatureExtractor.Extract(model, data.Validation);
        var request = new LastLayerRequest { TrainFeatures = train, ValidationFeatures = validation, Initial = LinearHead.Read(model), Seeds = new SeedSource(0) };
        var dfr = MethodCatalog.Dfr.Fit(request with { Options = new DfrOptions { Retrains = 2 } });
        Assert.Equal(LabelBudget.ValidationGroupsForFitting, dfr.LabelBudget);
        Assert.IsType<DfrResult>(dfr.Details);
        var afr = MethodCatalog.Afr.Fit(request with { Options = new AfrSearchOptions { Gammas = [2], Lambdas = [0], Steps = 5, LearningRate = 0.1 } });
        Assert.Equal(LabelBudget.ValidationGroupsForSelection, afr.LabelBudget);
        Assert.Equal(0.2, MethodCatalog.Afr.HeldOutFraction);
        Assert.Contains("AfrSearchOptions", Assert.Throws<ArgumentException>(() => MethodCatalog.Afr.Fit(request with { Options = new DfrOptions() })).Message);
    }
}
