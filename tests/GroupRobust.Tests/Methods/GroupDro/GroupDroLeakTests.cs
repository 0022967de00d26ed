using GroupRobust.Methods;
using GroupRobust.Tests.TestSupport;
using TorchSharp;
using static TorchSharp.torch;

namespace GroupRobust.Tests.Methods;

[Collection(LeakCollection.Name)]
public class GroupDroLeakTests
{
    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void Many_steps_keep_the_live_tensor_count_flat(bool btl)
    {
        using var dro = new GroupDroLoss([10, 20, 30, 40], new GroupDroOptions { Btl = btl, GeneralizationAdjustment = 1, NormalizeLoss = true });
        using var model = nn.Linear(3, 2);
        using var x = torch.randn(32, 3);
        using var y = torch.randint(0, 2, [32], dtype: ScalarType.Int64);
        using var g = torch.randint(0, 4, [32], dtype: ScalarType.Int64);
        LeakCheck.AssertFlat(() =>
        {
            using var scope = NewDisposeScope();
            var logits = model.call(x);
            var losses = nn.functional.cross_entropy(logits, y, reduction: nn.Reduction.None);
            dro.Forward(losses, g, logits, y).backward();
        }, warmup: 5, steps: 500);
    }
}
