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
}
