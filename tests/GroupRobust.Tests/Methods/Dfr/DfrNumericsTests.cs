using GroupRobust.Data;
using GroupRobust.Identification;
using GroupRobust.Methods;
using GroupRobust.Models;
using GroupRobust.Randomness;
using TorchSharp;
using static TorchSharp.torch;

namespace GroupRobust.Tests.Methods;

/// <summary>Last-layer fits at the extremes: features of huge scale are standardised in float64 or refused, never fitted to a constant or NaN head.</summary>
public class DfrNumericsTests
{
    private static readonly DfrOptions Options = new() { CGrid = [0.3, 1], Retrains = 2, Solver = new L1LogisticOptions { MaxIterations = 300 } };

    private static TensorGroupDataset Scaled(IGroupDataset data, double factor)
    {
        var d = (TensorGroupDataset)data;
        using var scope = NewDisposeScope();
        var labels = torch.tensor(d.Labels.ToArray().Select(v => (long)v).ToArray());
        var attributes = torch.tensor(d.Groups.ToArray().Select(g => (long)(g % d.Scheme.NumAttributes)).ToArray());
        return new TensorGroupDataset(d.Inputs * factor, labels, d.Scheme, attributes);
    }

    private static int[] Predict(LinearHead head, TensorGroupDataset data)
    {
        using var scope = NewDisposeScope();
        return head.Logits(data.Inputs.to(ScalarType.Float64)).argmax(1).to(ScalarType.Int32).data<int>().ToArray();
    }

    [Fact]
    public void Dfr_standardises_in_float64_so_features_of_scale_1e20_give_the_head_of_scale_1()
    {
        using var data = DfrTests.Planted(0, validation: 200);
        // float32 squares overflow from about 1.8e19: before, the scale turned every standard deviation into infinity and
        // every standardised feature into 0, so DFR fitted a constant head
        using var train = Scaled(data.Train, 1e20);
        using var val = Scaled(data.Validation, 1e20);
        using var test = Scaled(data.Test, 1e20);
        using var trainUnit = Scaled(data.Train, 1);
        using var valUnit = Scaled(data.Validation, 1);
        using var testUnit = Scaled(data.Test, 1);
        var huge = Dfr.OnValidation(train, val, new SeedSource(1), Options);
        var unit = Dfr.OnValidation(trainUnit, valUnit, new SeedSource(1), Options);
        Assert.Equal(unit.C, huge.C);
        var a = Predict(huge.Head, test);
        var b = Predict(unit.Head, testUnit);
        Assert.True(a.Distinct().Count() == 2, "the head on huge features predicts both classes");
        Assert.True(a.Zip(b).Count(p => p.First != p.Second) <= a.Length / 100, "the same predictions up to rounding at the boundary");

        var groups = GroupAssignment.FromTrueGroups(train);
        var onTraining = Dfr.OnTraining(train, groups, val, new SeedSource(2), options: Options);
        Assert.True(Predict(onTraining.Head, test).Distinct().Count() == 2);
    }

    [Fact]
    public void The_L1_solver_refuses_features_beyond_its_bound_and_non_finite_ones_naming_the_argument()
    {
        using var data = DfrTests.Planted(0, validation: 100);
        var train = (TensorGroupDataset)data.Train;
        using var labels = torch.tensor(train.Labels.ToArray().Select(v => (long)v).ToArray());
        using var huge = train.Inputs * 1e7;
        var ex = Assert.Throws<ArgumentException>(() => L1LogisticRegression.Fit(huge, labels, 2, 0.3));
        Assert.Equal("features", ex.ParamName);
        Assert.Contains("beyond the solver's bound 1000000", ex.Message);
        Assert.Contains("Standardise", ex.Message);
        using var poisoned = train.Inputs.clone();
        poisoned[7, 1] = float.NaN;
        Assert.Equal("features", Assert.Throws<ArgumentException>(() => L1LogisticRegression.Fit(poisoned, labels, 2, 0.3)).ParamName);
        // DFR's doors name their argument for non-finite features too
        using var scope = NewDisposeScope();
        var bad = new TensorGroupDataset(poisoned.clone(), labels.clone(), train.Scheme,
            torch.tensor(train.Groups.ToArray().Select(g => (long)(g % 2)).ToArray()));
        Assert.Equal("validationFeatures", Assert.Throws<ArgumentException>(() => Dfr.OnValidation(train, bad, new SeedSource(0), Options)).ParamName);
        Assert.Equal("trainFeatures", Assert.Throws<ArgumentException>(() => Dfr.OnValidation(bad, (TensorGroupDataset)data.Validation, new SeedSource(0), Options)).ParamName);
    }
}
