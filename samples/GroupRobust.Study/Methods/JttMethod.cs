using GroupRobust.Data;
using GroupRobust.Reweighting;
using TorchSharp;
using static TorchSharp.torch;

namespace GroupRobust.Study.Methods;

/// <summary>JTT phase II: ERM over the training set plus the error set repeated lambda times.</summary>
internal sealed class JttMethod(JttReweighter sampler) : IStudyMethod
{
    public string Name => $"JTT (λ={sampler.Lambda})";

    public bool UsesTrainGroups => false;

    public IEnumerable<long> EpochIndices(int epoch) => sampler.IndicesForEpoch(epoch);

    public Tensor Loss(nn.Module<Tensor, Tensor> model, Batch batch, int epoch, int totalEpochs)
        => nn.functional.cross_entropy(model.call(batch.Inputs), batch.Labels);
}
