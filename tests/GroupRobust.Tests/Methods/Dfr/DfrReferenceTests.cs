using System.Globalization;
using System.Text.Json;
using GroupRobust.Data;
using GroupRobust.Groups;
using GroupRobust.Methods;
using GroupRobust.Tests.TestSupport;
using TorchSharp;
using Xunit.Abstractions;
using static GroupRobust.Tests.TestSupport.ReferenceFixture;
using static TorchSharp.torch;

namespace GroupRobust.Tests.Methods;

/// <summary>
/// DFR on validation against a transcription of its reference (eng/make-reference-fixtures.py, Fixtures/Reference/LastLayer/dfr.json;
/// PolinaKirichenko/deep_feature_reweighting's dfr_on_validation_tune and dfr_on_validation_eval with scikit-learn's
/// liblinear and StandardScaler): with the transcription's shuffles replayed (the split of validation, each group's cut
/// to the smallest group, every resample), the same worst-group score for every C, the same C and resample size, and the
/// averaged head with the training scaler folded in within 1e-5 (both solvers run to a tight tolerance: at the library's
/// default 1e-5 the head sits 2.7e-5 from liblinear's optimum, the stopping rules', not the procedure's, difference).
/// </summary>
public class DfrReferenceTests(ITestOutputHelper output)
{
    [Fact]
    public void Tuning_the_chosen_c_and_the_averaged_head_match_the_transcription_with_its_shuffles()
    {
        var root = Load("LastLayer/dfr");
        using var scope = NewDisposeScope();
        using var train = Features(root, "train");
        using var validation = Features(root, "validation");
        var script = new ScriptedRandom("dfr shuffles");
        script.Positions(root.GetProperty("draws"));
        var result = Dfr.OnValidation(train, validation, script, new DfrOptions
        {
            CGrid = Doubles(root.GetProperty("c_options")),
            Retrains = root.GetProperty("retrains").GetInt32(),
            // both solvers near their optimum (the transcription's liblinear at tol 1e-9), so the comparison measures the procedure
            Solver = new L1LogisticOptions { MaxIterations = 100_000, Tolerance = 1e-12 },
        }, null);
        script.AssertConsumed();

        var scores = Doubles(root.GetProperty("scores"));
        Assert.Equal(scores, result.Tuning.Select(t => t.Score).ToArray());
        Assert.Equal(root.GetProperty("chosen_c").GetDouble(), result.C);
        Assert.Equal(root.GetProperty("samples_per_resample").GetInt32(), result.SamplesPerResample);
        // two classes: the head holds (0, 0) and the logistic model's (w, b), as the library stores a binary model
        var features = result.Head.Features;
        Assert.All(Enumerable.Range(0, features), j => Assert.Equal(0, result.Head.Weight[0, j]));
        Assert.Equal(0, result.Head.Bias[0]);
        double worst = Compare(Flatten(root.GetProperty("weight")), Enumerable.Range(0, features).Select(j => result.Head.Weight[1, j]).ToArray(), "dfr: averaged weight");
        worst = Math.Max(worst, Compare(Doubles(root.GetProperty("bias")), [result.Head.Bias[1]], "dfr: averaged bias"));
        output.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"DFR: tuning scores [{string.Join(", ", scores.Select(v => v.ToString("F3", CultureInfo.InvariantCulture)))}] equal, C = {result.C}, {result.SamplesPerResample} samples per resample; head max deviation {worst:E2}"));
    }

    private static TensorGroupDataset Features(JsonElement root, string split)
    {
        return new TensorGroupDataset(Matrix64(root.GetProperty(split + "_features")), torch.tensor(Longs(root.GetProperty(split + "_labels"))), new GroupScheme(2, 2), torch.tensor(Longs(root.GetProperty(split + "_attributes"))));
    }
}
