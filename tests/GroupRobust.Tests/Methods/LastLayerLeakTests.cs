using GroupRobust.Data;
using GroupRobust.Identification;
using GroupRobust.Methods;
using GroupRobust.Randomness;
using GroupRobust.Tests.TestSupport;
using TorchSharp;
using static TorchSharp.torch;

namespace GroupRobust.Tests.Methods;

/// <summary>The last-layer solvers and searches called directly, 1,000 times each: the live tensor count stays flat.</summary>
[Collection(LeakCollection.Name)]
public class LastLayerLeakTests
{
    private static readonly L1LogisticOptions FewIterations = new() { MaxIterations = 10 };

    [Fact]
    public void The_L1_solver_DFR_AFR_and_CRT_called_many_times_leak_nothing()
    {
        using var data = DfrTests.Planted(0, validation: 100);
        var train = (TensorGroupDataset)data.Train;
        var validation = (TensorGroupDataset)data.Validation;
        using var features = train.Inputs.narrow(0, 0, 200).clone();
        using var labels = torch.tensor(train.Labels.ToArray().Take(200).Select(y => (long)y).ToArray());
        LeakCheck.AssertFlat(() => L1LogisticRegression.Fit(features, labels, 2, 0.3, FewIterations), warmup: 5, steps: 1000);

        var dfr = new DfrOptions { CGrid = [0.3], Retrains = 1, Solver = FewIterations };
        var seeds = new SeedSource(0);
        LeakCheck.AssertFlat(() => Dfr.OnValidation(train, validation, seeds, dfr), warmup: 5, steps: 1000);
        var groups = GroupAssignment.FromTrueGroups(train);
        LeakCheck.AssertFlat(() => Dfr.OnTraining(train, groups, validation, seeds, options: dfr), warmup: 5, steps: 1000);

        using var heldOut = train.Subset([.. Enumerable.Range(1800, 200).Select(i => (long)i)]);
        var initial = DfrTests.ErmHead(train);
        var afr = new AfrSearchOptions { Gammas = [4], Lambdas = [0], Steps = 2 };
        LeakCheck.AssertFlat(() => AfrSearch.Run(heldOut, validation, initial, seeds, afr), warmup: 5, steps: 1000);
        LeakCheck.AssertFlat(() =>
        {
            using var method = new AfrMethod(heldOut, initial, seeds, new AfrOptions { Gamma = 4 });
            method.SampleWeights();
        }, warmup: 5, steps: 1000);
        // CRT: every balancing, one epoch over the 200 held-out rows (with their groups), validation evaluated once
        foreach (var balancing in Enum.GetValues<CrtBalancing>())
        {
            var crt = new CrtOptions { Balancing = balancing, Epochs = 1, BatchSize = 100 };
            LeakCheck.AssertFlat(() => Crt.Run(heldOut, validation, initial, seeds, crt), warmup: 5, steps: 100);
        }
    }
}
