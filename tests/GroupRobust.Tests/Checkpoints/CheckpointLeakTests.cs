using GroupRobust.Checkpoints;
using GroupRobust.Randomness;
using GroupRobust.Tests.Methods;
using GroupRobust.Tests.TestSupport;
using TorchSharp;

namespace GroupRobust.Tests.Checkpoints;

[Collection(LeakCollection.Name)]
public class CheckpointLeakTests
{
    [Fact]
    public void Save_and_load_cycles_leave_the_live_tensor_count_flat()
    {
        // a load keeps a copy of the model to roll back to; it used to leak one handle per tensor (found by DistributedLeakTests)
        using var data = MethodFactory.Data(96);
        using var model = MethodFactory.Model(0);
        using var opt = torch.optim.Adam(model.parameters(), 0.01);
        using var method = MethodFactory.Make("jm1", data, new SeedSource(0));
        using var dir = new TempDirectory();
        LeakCheck.AssertFlat(() =>
        {
            TrainingCheckpoint.Save(dir.File("c.ckpt"), model, opt, new CheckpointState { Epoch = 1, Method = method.GetState() });
            TrainingCheckpoint.Load(dir.File("c.ckpt"), model, opt, method);
        }, warmup: 2, steps: 6);
    }
}
