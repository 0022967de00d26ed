using System.Globalization;
using GroupRobust.Data;
using GroupRobust.Randomness;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace GroupRobust.Identification;

/// <summary>
/// The error set of a deliberately biased model: a fresh network trained for a few epochs with the generalized cross
/// entropy (GCE, Zhang and Sabuncu, 2018), which weights each sample's gradient by its fitted probability p_y^q, so the
/// easy (spurious) feature is learned and the hard (core) one hardly at all: LfF's biased network (Nam et al., 2020)
/// used as phase I, in the spirit of bias amplification (BAM, Li et al., 2023). Its misclassified training samples
/// (eval-mode pass) are the error set. Where an ERM phase I soon fits the minority and its 0/1 errors miss most of it
/// (multi-class data), the biased model keeps getting the minority wrong. Label budget: none.
/// </summary>
/// <remarks>
/// Randomness: the batch order comes from the seed source ("biased-order"); the network comes from the caller's
/// factory, which should initialise it from its own generator. Each step runs in a dispose scope; the model and the
/// optimizer are the identifier's and are disposed when it returns.
/// </remarks>
public sealed class BiasedModelIdentifier : IGroupIdentifier
{
    private readonly Func<nn.Module<Tensor, Tensor>> _modelFactory;
    private readonly Func<IEnumerable<Parameter>, OptimizerHelper> _optimizerFactory;
    private readonly SeedSource _seeds;
    private readonly ILogger _logger;

    /// <summary>Creates the identifier.</summary>
    /// <param name="modelFactory">Builds the biased network (the identifier owns and disposes it).</param>
    /// <param name="optimizerFactory">Builds its optimizer.</param>
    /// <param name="seeds">Seed source of the batch order.</param>
    /// <param name="options">Epochs, batch size, q; defaults when null.</param>
    /// <param name="logger">Receives the training loss per epoch and the error-set summary; <see cref="NullLogger"/> by default.</param>
    /// <exception cref="ArgumentOutOfRangeException">An option is out of range.</exception>
    public BiasedModelIdentifier(Func<nn.Module<Tensor, Tensor>> modelFactory, Func<IEnumerable<Parameter>, OptimizerHelper> optimizerFactory, SeedSource seeds,
        BiasedModelOptions? options = null, ILogger? logger = null)
    {
        ArgumentNullException.ThrowIfNull(modelFactory);
        ArgumentNullException.ThrowIfNull(optimizerFactory);
        ArgumentNullException.ThrowIfNull(seeds);
        _modelFactory = modelFactory;
        _optimizerFactory = optimizerFactory;
        _seeds = seeds;
        Options = options ?? new BiasedModelOptions();
        Options.Validate();
        _logger = logger ?? NullLogger.Instance;
    }

    /// <summary>The options in use.</summary>
    public BiasedModelOptions Options { get; }

    /// <inheritdoc />
    /// <exception cref="ArgumentException">The network does not output one logit per class.</exception>
    public GroupAssignment Identify(IGroupDataset dataset)
    {
        ArgumentNullException.ThrowIfNull(dataset);
        return Identify(dataset, null, null);
    }

    /// <summary>
    /// <see cref="Identify(IGroupDataset)"/> with each epoch's order given (null: the seeded permutations) and a look at the
    /// trained network before it is disposed (null: none). Internal: the reference-fixture test replays a transcription's
    /// epochs and compares what they trained.
    /// </summary>
    internal GroupAssignment Identify(IGroupDataset dataset, Func<int, long[]>? epochOrder, Action<nn.Module<Tensor, Tensor>>? trained)
    {
        var train = dataset.WithoutGroupLabels();
        long seed = _seeds.Derive("biased-order");
        using var model = _modelFactory();
        using var optimizer = _optimizerFactory(model.parameters());
        OwnNetworkTraining.Run(model, optimizer, train, Options.Epochs, Options.BatchSize, epochOrder ?? (e => Shuffling.EpochPermutation(train.Count, seed, e)),
            (logits, batch, _) => GeneralizedCrossEntropy.PerSample(logits, batch.Labels, Options.Q).mean(), "The biased model", "GCE surrogate loss", _logger);
        trained?.Invoke(model);
        var (wrong, _) = ModelPass.Run(model, train, Options.Pass, needLoss: false);
        var p = GroupAssignment.Identified(wrong, dataset, "gce-biased", null, new Dictionary<string, string>
        {
            ["epochs"] = Options.Epochs.ToString(CultureInfo.InvariantCulture),
            ["q"] = Options.Q.ToString("R", CultureInfo.InvariantCulture),
            ["batchSize"] = Options.BatchSize.ToString(CultureInfo.InvariantCulture),
        });
        return IdentificationReport.Report(p, _logger);
    }
}
