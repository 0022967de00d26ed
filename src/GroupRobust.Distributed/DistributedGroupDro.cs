using GroupRobust.Methods;
using TorchSharp;
using static TorchSharp.torch;

namespace GroupRobust.Distributed;

/// <summary>
/// Keeps GroupDRO's state identical on every rank: every step all-reduces the batch's per-group counts and loss sums
/// (one float64 buffer of 2G numbers), so q and the EMA follow the global batch, as one process with the whole batch
/// would; pair it with <see cref="GradientAveraging.AverageGradients"/>. Host buffers (one small device-to-host copy per
/// step); an NCCL collective would reduce on the device (docs/distributed.md).
/// </summary>
public static class DistributedGroupDro
{
    /// <summary>Makes <paramref name="loss"/> (for example <c>GroupDroMethod.RobustLoss</c>) reduce its statistics over <paramref name="collective"/>.</summary>
    public static void Attach(GroupDroLoss loss, ICollective collective)
    {
        ArgumentNullException.ThrowIfNull(loss);
        ArgumentNullException.ThrowIfNull(collective);
        loss.CrossProcessSum = local =>
        {
            using var host = local.detach().to(ScalarType.Float64).cpu().contiguous();
            var values = host.data<double>().ToArray();
            collective.AllReduceSum(values);
            return torch.tensor(values, ScalarType.Float64).to(local.device);
        };
    }
}
