// Just Mix Once in a hand-written TorchSharp loop: phase I (ERM + error set), phase II (class-conditional mixing),
// worst-group evaluation. Every GroupRobust piece is used directly; the loop stays yours.
using GroupRobust;
using GroupRobust.Checkpoints;
using GroupRobust.Data;
using GroupRobust.Data.FashionMnist;
using GroupRobust.Evaluation;
using GroupRobust.Identification;
using GroupRobust.Mixing;
using GroupRobust.Randomness;
using TorchSharp;
using static TorchSharp.torch;

TorchBackend.EnsureAvailable();
var seeds = new SeedSource(1);
using var data = SpuriousFashionMnist.Load(new SpuriousFashionMnistOptions { TrainSize = 4000, TestSize = 2000, Seed = 1 });
using var evaluator = new WorstGroupEvaluator(data.Scheme);

nn.Module<Tensor, Tensor> NewModel()
{
    torch.random.manual_seed(seeds.Derive("init"));
    return nn.Sequential(nn.Conv2d(3, 16, 3, padding: 1), nn.ReLU(), nn.MaxPool2d(4), nn.Flatten(), nn.Linear(16 * 7 * 7, 2));
}

// Phase I: two epochs of ERM, keeping the validation result of each epoch.
using var erm = NewModel();
var history = new List<EpochResult>();
using (var opt = torch.optim.Adam(erm.parameters(), 1e-3))
{
    var order = seeds.Random("phase1");
    for (int epoch = 1; epoch <= 2; epoch++)
    {
        foreach (var batch in data.Train.Batches(64, order))
        {
            using var scope = NewDisposeScope();
            opt.zero_grad();
            nn.functional.cross_entropy(erm.call(batch.Inputs), batch.Labels).backward();
            opt.step();
        }
        history.Add(new EpochResult(epoch, evaluator.Evaluate(erm, data.Validation)));
    }
}
Console.WriteLine($"ERM (phase I) test: {evaluator.Evaluate(erm, data.Test)}");

// The error set: what the phase-I model gets wrong on the training set.
Partition errors = new MisclassificationIdentifier(erm).Identify(data.Train);
Console.WriteLine($"{errors}\nerror-set quality: {errors.Quality(data.Train)}");

// Phase II: Just Mix Once. Same-label partners from the other partition, alpha from the U/B schedule.
using var model = NewModel();
var rng = seeds.Random("phase2");
var mixer = new ClassConditionalMixer(errors, rng);
var schedule = AlphaSchedule.UniformThenBeta();
var selector = new ModelSelector();
var bestPath = Path.Combine(Path.GetTempPath(), "grouprobust-minimal-best.ckpt");
const int epochs = 6;
using (var opt = torch.optim.Adam(model.parameters(), 1e-3))
{
    for (int epoch = 0; epoch < epochs; epoch++)
    {
        model.train();
        foreach (var batch in data.Train.Batches(64, rng))
        {
            using var scope = NewDisposeScope();
            var plan = mixer.DrawPartners(batch);
            var partners = data.Train.GetBatch(plan);
            var inputs = mixer.Mix(batch, partners, plan, schedule.Sample(epoch, epochs, rng));
            opt.zero_grad();
            nn.functional.cross_entropy(model.call(inputs), batch.Labels).backward();
            opt.step();
        }
        var stats = mixer.EndEpoch();
        var val = evaluator.Evaluate(model, data.Validation);
        if (selector.Add(epoch + 1, val)) TrainingCheckpoint.Save(bestPath, model, opt, new CheckpointState { Epoch = epoch + 1 });
        Console.WriteLine($"epoch {epoch + 1}: {stats.Mixed} mixed, val {val}");
    }
}
// Model selection: the epoch with the best validation worst-group accuracy.
TrainingCheckpoint.Load(bestPath, model, optimizer: null);
Console.WriteLine(evaluator.Evaluate(model, data.Test, trainGroupCounts: data.TrainGroupCounts()).ToMarkdown($"JM1, epoch {selector.Best!.Epoch}, test"));
