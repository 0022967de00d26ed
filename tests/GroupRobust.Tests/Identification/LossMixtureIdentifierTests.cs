using GroupRobust.Catalog;
using GroupRobust.Data;
using GroupRobust.Groups;
using GroupRobust.Identification;
using GroupRobust.Randomness;
using GroupRobust.Tests.TestSupport;
using TorchSharp;
using static TorchSharp.torch;

namespace GroupRobust.Tests.Identification;

public class LossMixtureIdentifierTests
{
    [Fact]
    public void The_mixture_finds_the_high_loss_mode_and_nothing_in_a_single_mode()
    {
        var rng = new Random(4);
        double Normal(double mean, double sd) => mean + sd * Math.Sqrt(-2 * Math.Log(1 - rng.NextDouble())) * Math.Cos(2 * Math.PI * rng.NextDouble());
        var values = Enumerable.Range(0, 900).Select(_ => Math.Abs(Normal(0.05, 0.03))).Concat(Enumerable.Range(0, 100).Select(_ => Normal(1.5, 0.3))).ToArray();
        var posterior = LossMixture.HighPosterior(values);
        Assert.True(posterior.Take(900).Count(p => p > 0.5) <= 9, "at most 1% of the low mode called high");
        Assert.True(posterior.Skip(900).Count(p => p > 0.5) >= 98, "the high mode found");
        Assert.All(posterior, p => Assert.InRange(p, 0, 1));
        // a high mode below the minimum is no mode worth the name
        Assert.All(LossMixture.HighPosterior(values, minimumHighMean: 2.0), p => Assert.Equal(0, p));
        // no second mode to find: constant values, a single value
        Assert.All(LossMixture.HighPosterior([0.3, 0.3, 0.3]), p => Assert.Equal(0, p));
        Assert.Equal([0.0], LossMixture.HighPosterior([2.0]));
        // deterministic
        Assert.Equal(posterior, LossMixture.HighPosterior(values));
    }

    [Fact]
    public void Each_class_gets_the_size_its_own_losses_show_and_keeps_its_errors()
    {
        // class 0: 90 low losses and 10 high ones; class 1: low losses only, one sample misclassified with a low loss
        var rng = new Random(2);
        var loss = new float[200];
        var labels = new int[200];
        var wrong = new bool[200];
        for (int i = 0; i < 200; i++)
        {
            labels[i] = i < 100 ? 0 : 1;
            loss[i] = i is >= 90 and < 100 ? 2f + (float)rng.NextDouble() : 0.05f + 0.01f * (float)rng.NextDouble();
        }
        wrong[150] = true;
        var mask = LossMixtureIdentifier.Select(wrong, loss, labels, 2, new LossMixtureOptions());
        Assert.Equal(Enumerable.Range(90, 10).Append(150), Enumerable.Range(0, 200).Where(i => mask[i]));
        var without = LossMixtureIdentifier.Select(wrong, loss, labels, 2, new LossMixtureOptions { IncludeMisclassified = false });
        Assert.False(without[150]);
        Assert.Equal("Threshold", Assert.Throws<ArgumentOutOfRangeException>(() => new LossMixtureOptions { Threshold = 1 }.Validate()).ParamName);
        Assert.Equal("MinimumHighLoss", Assert.Throws<ArgumentOutOfRangeException>(() => new LossMixtureOptions { MinimumHighLoss = double.NaN }.Validate()).ParamName);
    }

    [Fact]
    public void On_the_gaussian_task_it_recalls_more_of_the_minority_than_the_errors_alone_and_reads_no_label()
    {
        // a spurious cue 3x as strong as the core one: the briefly trained model gets part of the minority right
        using var splits = SyntheticGaussianDataset.Create(new SyntheticGaussianOptions { TrainSize = 2000, MinorityFraction = 0.05, SpuriousScale = 3, Seed = 1 });
        using var model = (nn.Module<Tensor, Tensor>)TestTraining.Linear(2, 2);
        TestTraining.Erm(model, splits.Train, epochs: 3, lr: 0.05);
        var train = splits.Train.WithoutGroupLabels();
        var errors = new MisclassificationIdentifier(model).Identify(train).Quality(splits.Train);
        var request = new IdentifierRequest { Model = model, Epoch = 3, Seeds = new SeedSource(0) };
        var mixture = MethodCatalog.LossMixture.Create(request).Identify(train);
        var quality = mixture.Quality(splits.Train);
        Assert.True(quality.Recall >= errors.Recall, $"mixture recall {quality.Recall} vs errors {errors.Recall}");
        Assert.True(quality.Precision >= 0.5, $"precision {quality.Precision} recall {quality.Recall} size {mixture.MinorityCount}; errors {errors.Precision} {errors.Recall}");
        Assert.True(mixture.Metadata.IdentifiedByLibrary);
        Assert.Equal("loss-mixture", mixture.Metadata.Method);
        Assert.Equal(3, mixture.Metadata.Epoch);
        Assert.Equal(LabelBudget.None, MethodCatalog.LossMixture.LabelBudget);
        Assert.Equal(GroupSource.Inferred, mixture.Source);
    }
}
