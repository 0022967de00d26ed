// Just Mix Once on Spurious Fashion-MNIST: first the library's two-phase recipe in one call, then the same pieces in a
// hand-written loop through the method contract. README.md shows this file; CI compiles and runs it.
using GroupRobust;
using GroupRobust.Catalog;
using GroupRobust.Data;
using GroupRobust.Data.FashionMnist;
using GroupRobust.Evaluation;
using GroupRobust.Identification;
using GroupRobust.Methods;
using GroupRobust.Randomness;
using GroupRobust.Recipes;
using GroupRobust.Training;
using TorchSharp;
using static TorchSharp.torch;

TorchBackend.EnsureAvailable();                        // one clear message if the native backend cannot load
using var data = SpuriousFashionMnist.Load(new SpuriousFashionMnistOptions { TrainSize = 4000, TestSize = 2000, Seed = 1 });
using var evaluator = new WorstGroupEvaluator(data.Scheme);

nn.Module<Tensor, Tensor> NewModel(long seed)          // every run starts from the weights this seed gives
{
    torch.random.manual_seed(seed);
    return nn.Sequential(nn.Conv2d(3, 16, 3, padding: 1), nn.ReLU(), nn.MaxPool2d(4), nn.Flatten(), nn.Linear(16 * 7 * 7, 2));
}

var progress = new ConsoleProgress();                  // one line per epoch: loss, validation average and worst-group, ETA

// 1. The recipe: ERM for T = 1..2 epochs, the error set at the T validation picks, JM1 on it, every run selected on validation.
var recipe = new TwoPhaseRecipe(data, NewModel, p => torch.optim.Adam(p, 1e-3), new SeedSource(1),
    new RecipeOptions { Phase1Epochs = 2, Epochs = 4, OnEpoch = progress.Report });
using (var jm1 = recipe.Run(MethodCatalog.Jm1))
{
    Console.WriteLine($"{jm1.Groups!.Groups} at T = {jm1.Groups.Epoch}; {jm1.History.Method}: selected epoch {jm1.History.Best.Epoch}, labels used: {jm1.LabelBudget}");
    Console.WriteLine(evaluator.Evaluate(jm1.Model, data.Test, trainGroupCounts: data.TrainGroupCounts()).ToMarkdown("JM1 (input), test"));
}

// 2. The same pieces by hand: phase I in your own loop through the method contract, the error set, then GroupDRO on it.
var seeds = new SeedSource(2);
using var erm = NewModel(seeds.Derive("init"));
using (var method = new ErmMethod(data.Train, seeds.Child("phase1")))
using (var optimizer = torch.optim.Adam(erm.parameters(), 1e-3))
{
    for (int epoch = 1; epoch <= 2; epoch++)                    // epochs are numbered from 1
    {
        foreach (var batch in data.Train.Batches(method.BeginEpoch(epoch, 2), batchSize: 64))
        {
            using var scope = NewDisposeScope();
            OptimizerStep.Plain.Take(method, erm, optimizer, batch);   // or OptimizerStep.Sam(): the step is open
        }
        Console.WriteLine($"phase I {method.EndEpoch()}");
    }
}
GroupAssignment errorSet = new MisclassificationIdentifier(erm).Identify(data.Train);   // reads no training group label
using var dro = NewModel(seeds.Derive("init"));
using (var method = MethodCatalog.GroupDro.Create(new MethodRequest { Train = data.Train, Groups = errorSet, Seeds = seeds.Child("groupdro") }))
using (var optimizer = torch.optim.Adam(dro.parameters(), 1e-3))
{
    var history = TrainingLoop.Run(method, dro, optimizer, data, epochs: 4, progress: new ConsoleProgress(run: "GroupDRO"));
    Console.WriteLine($"{history.Method}: selected epoch {history.Best.Epoch}, labels used: {history.LabelBudget}, test {evaluator.Evaluate(dro, data.Test)}");
}
