using System.Globalization;
using GroupRobust.Data;
using GroupRobust.Groups;
using GroupRobust.Methods;
using GroupRobust.Models;
using GroupRobust.Randomness;
using GroupRobust.Tests.TestSupport;
using TorchSharp;
using Xunit.Abstractions;
using static GroupRobust.Tests.TestSupport.ReferenceFixture;
using static TorchSharp.torch;

namespace GroupRobust.Tests.Methods;

/// <summary>
/// CRT, ReWeightCRT and VanillaCRT against a transcription of SubpopBench's stage 2 (eng/make-reference-fixtures.py,
/// Fixtures/Reference/LastLayer/crt*.json; YyzHarry/SubpopBench's CRT, ReWeightCRT, VanillaCRT and get_sgd_optim): from the
/// same new head (the transcription's initialisation, given) over the transcription's epoch orders (group-balanced draws with replacement, or permutations), every
/// epoch's validation worst-group accuracy, the chosen epoch (the first best; the vanilla fixture has a tie) and the kept
/// head within 1e-5.
/// </summary>
public class CrtReferenceTests(ITestOutputHelper output)
{
    [Theory]
    [InlineData("crt", CrtBalancing.GroupBalancedSampling)]
    [InlineData("crt-reweight", CrtBalancing.GroupReweighting)]
    [InlineData("crt-vanilla", CrtBalancing.None)]
    public void The_retrained_head_and_the_chosen_epoch_match_the_transcription(string name, CrtBalancing balancing)
    {
        var root = Load("LastLayer/" + name);
        using var scope = NewDisposeScope();
        using var train = Dataset(root);
        var scheme = new GroupScheme(root.GetProperty("num_classes").GetInt32(), root.GetProperty("num_attributes").GetInt32());
        using var validation = new TensorGroupDataset(Matrix(root.GetProperty("validation_inputs")), torch.tensor(Longs(root.GetProperty("labels"))), scheme,
            torch.tensor(Longs(root.GetProperty("attributes"))));
        var initial = Head(root.GetProperty("initial").GetProperty("weight"), root.GetProperty("initial").GetProperty("bias"));   // float32 values, as the script's head holds them
        var options = new CrtOptions
        {
            Balancing = balancing,
            Epochs = root.GetProperty("epochs").GetInt32(),
            BatchSize = root.GetProperty("batch_size").GetInt32(),
            LearningRate = root.GetProperty("learning_rate").GetDouble(),
            WeightDecay = root.GetProperty("weight_decay").GetDouble(),
            ReinitializeHead = false,   // the transcription's own nn.Linear initialisation is the head given
        };
        var orders = root.GetProperty("orders").EnumerateArray().Select(Longs).ToArray();
        var result = Crt.Run(train, validation, initial, new SeedSource(0), options, null, epoch => orders[epoch - 1]);

        var scores = Doubles(root.GetProperty("worst_group_accuracy"));
        Assert.Equal(scores, result.Validation.Select(r => r.Result.WorstGroupAccuracy!.Value).ToArray());
        Assert.Equal(root.GetProperty("chosen_epoch").GetInt32(), result.Epoch);
        var chosen = root.GetProperty("chosen");
        double worst = Compare(Flatten(chosen.GetProperty("weight")), result.Head.Weight.Cast<double>().ToArray(), $"{name}: kept weight");
        worst = Math.Max(worst, Compare(Doubles(chosen.GetProperty("bias")), result.Head.Bias, $"{name}: kept bias"));
        output.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"{name}: validation worst-group [{string.Join(", ", scores.Select(s => s.ToString("F3", CultureInfo.InvariantCulture)))}] equal, epoch {result.Epoch} kept, head max deviation {worst:E2}"));
    }
}
