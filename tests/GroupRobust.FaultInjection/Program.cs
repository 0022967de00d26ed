// Saves a checkpoint of a 4 MB model to args[0] over and over (epoch 1, 2, ...), printing "saved N" after each, until
// it is killed: the suite's fault-injection test kills it at random moments, most of them mid-save.
using GroupRobust.Checkpoints;
using TorchSharp;

if (args.Length != 1)
{
    Console.Error.WriteLine("usage: GroupRobust.FaultInjection <checkpoint path>");
    return 2;
}
torch.random.manual_seed(0);
using var model = torch.nn.Linear(1000, 1000);
for (int epoch = 1; ; epoch++)
{
    TrainingCheckpoint.Save(args[0], model, null, new CheckpointState { Epoch = epoch });
    Console.WriteLine($"saved {epoch}");
}
