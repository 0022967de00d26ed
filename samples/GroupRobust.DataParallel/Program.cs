// Just Mix Once across the processes of an MPI job, on Spurious Fashion-MNIST: phase I (ERM) data-parallel, the error
// set identified on shards and merged, phase II (JM1) data-parallel with partners drawn for the global batch, validation
// merged across ranks every epoch, a rank-0 checkpoint per epoch (a rerun resumes from it), and the test result.
//
//   mpirun -np 2 dotnet samples/GroupRobust.DataParallel/bin/Release/net10.0/GroupRobust.DataParallel.dll [options]
//   options: --train N (4000)  --phase1 EPOCHS (2)  --epochs EPOCHS (4)  --batch GLOBAL (128)  --dir FOLDER (./data-parallel)
// tests/GroupRobust.Tests/Distributed/MpiTests runs it with two ranks, then again to resume.
using System.Globalization;
using GroupRobust;
using GroupRobust.Checkpoints;
using GroupRobust.Data;
using GroupRobust.Data.FashionMnist;
using GroupRobust.Distributed;
using GroupRobust.Evaluation;
using GroupRobust.Identification;
using GroupRobust.Methods;
using GroupRobust.Randomness;
using TorchSharp;
using static TorchSharp.torch;

TorchBackend.EnsureAvailable();
torch.set_num_threads(1);                              // one core per rank (mpirun binds each rank to one)
using var mpi = new MpiCollective();                   // a plain `dotnet` run is a job of one
int Option(string name, int fallback) => args.SkipWhile(a => a != name).Skip(1).Select(v => int.Parse(v, CultureInfo.InvariantCulture)).DefaultIfEmpty(fallback).First();
int trainSize = Option("--train", 4000), phase1Epochs = Option("--phase1", 2), epochs = Option("--epochs", 4), globalBatch = Option("--batch", 128);
string dir = args.SkipWhile(a => a != "--dir").Skip(1).DefaultIfEmpty("data-parallel").First();
void Say(string text)
{
    if (mpi.Rank == 0) Console.WriteLine(text);
}

var seeds = new SeedSource(1);
using var data = SpuriousFashionMnist.Load(new SpuriousFashionMnistOptions { TrainSize = trainSize, TestSize = 2000, Seed = 1 });
// every rank must run the same job: a rank started with other arguments stops all of them here, with the values
JobConfiguration.Verify(mpi, ("train", data.Train.Count), ("globalBatch", globalBatch), ("phase1", phase1Epochs), ("epochs", epochs), ("dir", Path.GetFullPath(dir)));
Directory.CreateDirectory(dir);
using var evaluator = new WorstGroupEvaluator(data.Scheme);

nn.Module<Tensor, Tensor> NewModel()
{
    torch.random.manual_seed(seeds.Derive("init"));
    return nn.Sequential(nn.Conv2d(3, 16, 3, padding: 1), nn.ReLU(), nn.MaxPool2d(4), nn.Flatten(), nn.Linear(16 * 7 * 7, 2));
}

// One data-parallel epoch: this rank's part of every global batch, gradients averaged over the global batch (the
// library's loop through the optimizer step; DataParallel.PartLoss is the piece to write your own).
MethodEpochSummary Epoch(ITrainingMethod method, nn.Module<Tensor, Tensor> model, TorchSharp.Modules.OptimizerHelper optimizer, int epoch, int total)
    => DataParallel.TrainEpoch(method, model, optimizer, data.Train, epoch, total, globalBatch, mpi);

// Phase I: ERM, data-parallel; then the error set from shards of the training set, the same on every rank.
using var erm = NewModel();
GradientAveraging.BroadcastParameters(erm, mpi);
using (var method = new ErmMethod(data.Train, seeds.Child("phase1")))
using (var optimizer = torch.optim.Adam(erm.parameters(), 1e-3))
    for (int epoch = 1; epoch <= phase1Epochs; epoch++) Say($"phase I {Epoch(method, erm, optimizer, epoch, phase1Epochs)} on rank 0 of {mpi.Size}");
GroupAssignment errorSet = DistributedIdentification.Identify(new MisclassificationIdentifier(erm), data.Train, mpi);
Say(errorSet.ToString());

// Phase II: JM1, data-parallel, resumed from the last checkpoint when there is one; validation worst-group accuracy
// (validation group labels, for model selection only) picks the epoch whose weights are kept.
string last = Path.Combine(dir, "last.ckpt"), best = Path.Combine(dir, "best.ckpt");
using var model = NewModel();
GradientAveraging.BroadcastParameters(model, mpi);
using var jm1 = Jm1Method.Jm1(data.Train, errorSet, seeds.Child("jm1"));
using var jm1Optimizer = torch.optim.Adam(model.parameters(), 1e-3);
int start = 0;
double bestWorst = -1;
int bestEpoch = -1;
// rank 0 decides whether to resume and tells the others (on a shared folder they would agree anyway; this way they cannot disagree)
var resume = new float[] { mpi.Rank == 0 && File.Exists(last) ? 1 : 0 };
mpi.Broadcast(resume);
if (resume[0] != 0)
{
    var saved = DistributedCheckpoint.Load(mpi, last, model, jm1Optimizer, jm1);
    start = saved.Epoch;
    bestWorst = double.Parse(saved.Metadata["bestWorst"], CultureInfo.InvariantCulture);
    bestEpoch = int.Parse(saved.Metadata["bestEpoch"], CultureInfo.InvariantCulture);
    Say($"resumed after epoch {start} (best so far: epoch {bestEpoch}, validation worst-group {bestWorst:P1})");
}
for (int epoch = start + 1; epoch <= epochs; epoch++)   // epochs are numbered from 1; a checkpoint holds the last one done
{
    var summary = Epoch(jm1, model, jm1Optimizer, epoch, epochs);
    var validation = DistributedEvaluation.Evaluate(evaluator, model, data.Validation, mpi);
    double worst = validation.WorstGroupAccuracy ?? 0;
    Say($"{jm1.Name} {summary} on rank 0 of {mpi.Size} (mixing: the global batches); validation average {validation.AverageAccuracy:P1}, worst-group {worst:P1}");
    if (worst > bestWorst)
    {
        (bestWorst, bestEpoch) = (worst, epoch);
        DistributedCheckpoint.Save(mpi, best, model, null, new CheckpointState { Epoch = epoch }, jm1);
    }
    var metadata = new Dictionary<string, string> { ["bestWorst"] = bestWorst.ToString("R", CultureInfo.InvariantCulture), ["bestEpoch"] = bestEpoch.ToString(CultureInfo.InvariantCulture) };
    DistributedCheckpoint.Save(mpi, last, model, jm1Optimizer, new CheckpointState { Epoch = epoch, Method = jm1.GetState(), Metadata = metadata }, jm1);
}

// The selected epoch's weights, evaluated on the test split across the ranks.
DistributedCheckpoint.Load(mpi, best, model, null);
var test = DistributedEvaluation.Evaluate(evaluator, model, data.Test, mpi, trainGroupCounts: data.TrainGroupCounts());
Say(test.ToMarkdown($"{jm1.Name} on {mpi.Size} ranks, epoch {bestEpoch} selected by validation worst-group accuracy; labels: none for training, validation groups for selection; test"));
mpi.Barrier();
