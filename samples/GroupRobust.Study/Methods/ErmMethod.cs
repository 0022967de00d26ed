using GroupRobust.Data;
using TorchSharp;
using static TorchSharp.torch;

namespace GroupRobust.Study.Methods;

/// <summary>Plain ERM: shuffled epochs, mean cross entropy.</summary>
internal sealed class ErmMethod(int count, long seed) : IStudyMethod
{
    private readonly ShuffleSampler _sampler = new(count, seed);

    public string Name => "ERM";

    public bool UsesTrainGroups => false;

    public IEnumerable<long> EpochIndices(int epoch) => _sampler.IndicesForEpoch(epoch);

    public Tensor Loss(nn.Module<Tensor, Tensor> model, Batch batch, int epoch, int totalEpochs)
        => nn.functional.cross_entropy(model.call(batch.Inputs), batch.Labels);
}
