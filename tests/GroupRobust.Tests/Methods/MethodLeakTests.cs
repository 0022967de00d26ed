using GroupRobust.Distributed;
using GroupRobust.Data;
using GroupRobust.Methods;
using GroupRobust.Randomness;
using GroupRobust.Tests.TestSupport;
using TorchSharp;

namespace GroupRobust.Tests.Methods;

[Collection(LeakCollection.Name)]
public class MethodLeakTests
{
    public static TheoryData<string> Kinds => MethodFactory.All();

    [Theory]
    [MemberData(nameof(Kinds))]
    public void Epochs_of_every_method_leave_the_live_tensor_count_flat(string kind)
    {
        using var data = MethodFactory.Data(96);
        using var method = MethodFactory.Make(kind, data, new SeedSource(0));
        using var model = MethodFactory.ModelFor(kind, 0);
        using var opt = torch.optim.SGD(model.parameters(), 0.05);
        int epoch = 0;
        LeakCheck.AssertFlat(() =>
        {
            MethodFactory.Train(method, model, opt, data.Train, epoch % 8, epoch % 8 + 1, 8);
            method.GetState();
            epoch++;
        }, warmup: 2, steps: 6);
    }

    [Theory]
    [MemberData(nameof(Kinds))]
    public void Restoring_a_state_a_thousand_times_leaves_the_live_tensor_count_flat(string kind)
    {
        using var data = MethodFactory.Data(96);
        using var method = MethodFactory.Make(kind, data, new SeedSource(0));
        using var model = MethodFactory.ModelFor(kind, 0);
        using var opt = torch.optim.SGD(model.parameters(), 0.05);
        MethodFactory.Train(method, model, opt, data.Train, 0, 1, 2);   // a state with every part filled (LfF's averages, GroupDRO's q)
        var state = method.GetState();
        LeakCheck.AssertFlat(() => method.SetState(state), warmup: 5, steps: 1000);
    }

    public static TheoryData<string> ShardableKinds => new() { "erm", "jtt", "jm1", "jm1:random", "jm1:inbatch", "jm1:paired", "groupdro" };

    [Theory]
    [MemberData(nameof(ShardableKinds))]
    public void Parts_of_global_batches_and_empty_parts_leave_the_live_tensor_count_flat(string kind)
    {
        using var data = MethodFactory.Data(96);
        using var method = MethodFactory.Make(kind, data, new SeedSource(0));
        // a job of one: the statistics' sum over the job is the local one (GroupRobust.Distributed plugs in MPI here)
        if (method is GroupDroMethod dro) dro.RobustLoss.CrossProcessSum = local => local.clone();
        using var model = MethodFactory.ModelFor(kind, 0);
        using var opt = torch.optim.SGD(model.parameters(), 0.05);
        int epoch = 0;
        LeakCheck.AssertFlat(() =>
        {
            var order = method.BeginEpoch(epoch % 8 + 1, 8);
            foreach (var global in order.Chunk(40))
            {
                // the first part of every global batch, and an empty part of the last one
                foreach (var (start, length) in new[] { (0, global.Length / 2), (global.Length, 0) })
                {
                    using var scope = torch.NewDisposeScope();
                    var shard = new BatchShard(global, start, length);
                    using var part = data.Train.GetBatch(shard);
                    opt.zero_grad();
                    method.PartLoss(model, part, shard).backward();
                    opt.step();
                }
            }
            method.EndEpoch();
            method.GetState();
            epoch++;
        }, warmup: 2, steps: 6);
    }
}
