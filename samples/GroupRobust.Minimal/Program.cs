// Just Mix Once on Spurious Fashion-MNIST: phase I in a hand-written loop, the error set, phase II in the ready loop,
// then the same error set driving GroupDRO. README.md shows this file; CI compiles and runs it.
using GroupRobust;
using GroupRobust.Data;
using GroupRobust.Data.FashionMnist;
using GroupRobust.Evaluation;
using GroupRobust.Identification;
using GroupRobust.Methods;
using GroupRobust.Randomness;
using GroupRobust.Training;
using TorchSharp;
using static TorchSharp.torch;

TorchBackend.EnsureAvailable();                        // one clear message if the native backend cannot load
var seeds = new SeedSource(1);                         // every stream of the run derives from it
using var data = SpuriousFashionMnist.Load(new SpuriousFashionMnistOptions { TrainSize = 4000, TestSize = 2000, Seed = 1 });
using var evaluator = new WorstGroupEvaluator(data.Scheme);

nn.Module<Tensor, Tensor> NewModel()
{
    torch.random.manual_seed(seeds.Derive("init"));
    return nn.Sequential(nn.Conv2d(3, 16, 3, padding: 1), nn.ReLU(), nn.MaxPool2d(4), nn.Flatten(), nn.Linear(16 * 7 * 7, 2));
}

// Phase I: two epochs of ERM in your own loop, through the method contract.
using var erm = NewModel();
using (var method = new ErmMethod(data.Train, seeds.Child("phase1")))
using (var optimizer = torch.optim.Adam(erm.parameters(), 1e-3))
{
    const int epochs = 2;
    for (int epoch = 0; epoch < epochs; epoch++)
    {
        foreach (var batch in data.Train.Batches(method.BeginEpoch(epoch, epochs), batchSize: 64))
        {
            using var scope = NewDisposeScope();
            optimizer.zero_grad();
            method.Loss(erm, batch).backward();
            optimizer.step();
        }
        Console.WriteLine($"phase I {method.EndEpoch()}");
    }
}

// The error set: the training samples the phase-I model gets wrong (no training group labels are read).
GroupAssignment errorSet = new MisclassificationIdentifier(erm).Identify(data.Train);
Console.WriteLine(errorSet);

// Phase II: Just Mix Once in the ready loop: validation every epoch, the best epoch's weights restored at the end.
using var model = NewModel();
using (var jm1 = Jm1Method.Jm1(data.Train, errorSet, seeds.Child("jm1")))
using (var optimizer = torch.optim.Adam(model.parameters(), 1e-3))
{
    var history = TrainingLoop.Run(jm1, model, optimizer, data, epochs: 4);
    Console.WriteLine($"{history.Method}: selected epoch {history.Best.Epoch} of {history.Epochs.Count}");
}
Console.WriteLine(evaluator.Evaluate(model, data.Test, trainGroupCounts: data.TrainGroupCounts()).ToMarkdown("JM1 (input), test"));

// The same inferred groups drive any group-based method: here GroupDRO on the error set, still without training group labels.
using var dro = NewModel();
using (var method = new GroupDroMethod(errorSet, seeds.Child("groupdro")))
using (var optimizer = torch.optim.Adam(dro.parameters(), 1e-3))
{
    var history = TrainingLoop.Run(method, dro, optimizer, data, epochs: 4);
    Console.WriteLine($"{history.Method}: selected epoch {history.Best.Epoch}, test {evaluator.Evaluate(dro, data.Test)}");
}
