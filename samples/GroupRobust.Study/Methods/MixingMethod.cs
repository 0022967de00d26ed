using GroupRobust.Data;
using GroupRobust.Mixing;
using TorchSharp;
using static TorchSharp.torch;

namespace GroupRobust.Study.Methods;

/// <summary>
/// JM1 and its relatives: each batch is mixed with partners from <see cref="ClassConditionalMixer"/> (policy decides
/// JM1 vs c-MixUp) at the input or a hidden layer, one alpha per batch from the schedule, cross entropy with the batch's labels.
/// </summary>
internal sealed class MixingMethod : IStudyMethod
{
    private readonly IGroupDataset _train;
    private readonly ClassConditionalMixer _mixer;
    private readonly AlphaSchedule _schedule;
    private readonly Random _rng;
    private readonly ShuffleSampler _sampler;
    private readonly string[] _layers;
    private HiddenLayerMixer? _hidden;

    public MixingMethod(string name, bool usesTrainGroups, IGroupDataset train, ClassConditionalMixer mixer, AlphaSchedule schedule,
        string[] layers, Random rng, long seed)
    {
        Name = name;
        UsesTrainGroups = usesTrainGroups;
        _train = train;
        _mixer = mixer;
        _schedule = schedule;
        _layers = layers;
        _rng = rng;
        _sampler = new ShuffleSampler(train.Count, seed);
    }

    public string Name { get; }

    public bool UsesTrainGroups { get; }

    public MixingStatistics? LastEpochStatistics { get; private set; }

    public IEnumerable<long> EpochIndices(int epoch) => _sampler.IndicesForEpoch(epoch);

    public Tensor Loss(nn.Module<Tensor, Tensor> model, Batch batch, int epoch, int totalEpochs)
    {
        _hidden ??= new HiddenLayerMixer(model, _layers, _rng);
        var plan = _mixer.DrawPartners(batch);
        var partners = _train.GetBatch(plan);
        var c = _mixer.Coefficients(plan, _schedule.Sample(epoch, totalEpochs, _rng), batch.Inputs);
        var logits = _hidden.Forward(batch.Inputs, partners.Inputs, c);
        return nn.functional.cross_entropy(logits, batch.Labels);
    }

    public void EndEpoch(int epoch) => LastEpochStatistics = _mixer.EndEpoch();
}
