using GroupRobust.Data;
using GroupRobust.Mixing;
using TorchSharp;
using static TorchSharp.torch;

namespace GroupRobust.Study.Methods;

/// <summary>Standard MixUp (Zhang et al.): permutation partners, lambda ~ Beta(1, 1), mixed-label loss.</summary>
internal sealed class MixupMethod(int count, Random rng, long seed) : IStudyMethod
{
    private readonly StandardMixup _mixup = new(1.0, rng);
    private readonly ShuffleSampler _sampler = new(count, seed);

    public string Name => "MixUp";

    public bool UsesTrainGroups => false;

    public IEnumerable<long> EpochIndices(int epoch) => _sampler.IndicesForEpoch(epoch);

    public Tensor Loss(nn.Module<Tensor, Tensor> model, Batch batch, int epoch, int totalEpochs)
    {
        var draw = _mixup.Draw(batch.Size);
        return StandardMixup.Loss(model.call(StandardMixup.Mix(batch.Inputs, draw)), batch.Labels, draw);
    }
}
