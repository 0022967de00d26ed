using GroupRobust.Data;
using GroupRobust.Losses;
using GroupRobust.Reweighting;
using TorchSharp;
using static TorchSharp.torch;

namespace GroupRobust.Study.Methods;

/// <summary>GroupDRO with group-balanced sampling (uses training group labels: the upper anchor).</summary>
internal sealed class GroupDroMethod(IGroupDataset train, GroupDroLoss loss, long seed) : IStudyMethod, IDisposable
{
    private readonly GroupBalancedSampler _sampler = new(train, seed);

    public string Name => "GroupDRO";

    public bool UsesTrainGroups => true;

    public IEnumerable<long> EpochIndices(int epoch) => _sampler.IndicesForEpoch(epoch);

    public Tensor Loss(nn.Module<Tensor, Tensor> model, Batch batch, int epoch, int totalEpochs)
        => loss.Forward(nn.functional.cross_entropy(model.call(batch.Inputs), batch.Labels, reduction: nn.Reduction.None), batch.Groups!);

    public void Dispose() => loss.Dispose();
}
