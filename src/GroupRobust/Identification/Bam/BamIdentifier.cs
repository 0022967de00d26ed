using System.Globalization;
using GroupRobust.Data;
using GroupRobust.Internal;
using GroupRobust.Randomness;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace GroupRobust.Identification;

/// <summary>
/// BAM's stage 1 (Li et al., 2023, "Bias amplification enhances minority group performance"; motivationss/BAM): a fresh
/// network trained for T epochs with one trainable auxiliary logit vector b_i in R^C per training sample added to its
/// output, logits_i = f(x_i) + lambda b_i, all b_i starting at 0 and updated by the same optimizer as the network. The
/// hard (minority) samples are fitted through their b_i rather than through f, which so amplifies the bias; the samples
/// that f alone then misclassifies (an eval-mode pass without b) are the error set, upsampled in stage 2 as JTT does
/// (the Study's row <c>jtt@bam</c>). Label budget: none (BAM selects T and the upsampling with the class-difference
/// rule, <c>SelectionRule.ClassDifference</c>, which reads no group label either).
/// </summary>
/// <remarks>
/// Randomness: the batch order comes from the seed source ("bam-order"); the network comes from the caller's factory,
/// which should initialise it from its own generator. Each step runs in a dispose scope; the network, the auxiliary
/// logits and the optimizer are the identifier's and are disposed when it returns.
/// </remarks>
public sealed class BamIdentifier : IGroupIdentifier
{
    private readonly Func<nn.Module<Tensor, Tensor>> _modelFactory;
    private readonly Func<IEnumerable<Parameter>, OptimizerHelper> _optimizerFactory;
    private readonly SeedSource _seeds;
    private readonly ILogger _logger;

    /// <summary>Creates the identifier.</summary>
    /// <param name="modelFactory">Builds the network (the identifier owns and disposes it).</param>
    /// <param name="optimizerFactory">Builds the optimizer of the network's parameters and the auxiliary logits.</param>
    /// <param name="seeds">Seed source of the batch order.</param>
    /// <param name="options">Epochs, lambda, batch size; defaults when null.</param>
    /// <param name="logger">Receives the training loss per epoch and the error-set summary; <see cref="NullLogger"/> by default.</param>
    /// <exception cref="ArgumentOutOfRangeException">An option is out of range.</exception>
    public BamIdentifier(Func<nn.Module<Tensor, Tensor>> modelFactory, Func<IEnumerable<Parameter>, OptimizerHelper> optimizerFactory, SeedSource seeds,
        BamOptions? options = null, ILogger? logger = null)
    {
        ArgumentNullException.ThrowIfNull(modelFactory);
        ArgumentNullException.ThrowIfNull(optimizerFactory);
        ArgumentNullException.ThrowIfNull(seeds);
        _modelFactory = modelFactory;
        _optimizerFactory = optimizerFactory;
        _seeds = seeds;
        Options = options ?? new BamOptions();
        Options.Validate();
        _logger = logger ?? NullLogger.Instance;
    }

    /// <summary>The options in use.</summary>
    public BamOptions Options { get; }

    /// <inheritdoc />
    /// <exception cref="ArgumentException">The network does not output one logit per class.</exception>
    public GroupAssignment Identify(IGroupDataset dataset)
    {
        ArgumentNullException.ThrowIfNull(dataset);
        return Identify(dataset, null, null);
    }

    /// <summary>
    /// <see cref="Identify(IGroupDataset)"/> with each epoch's order given (null: the seeded permutations) and a look at the
    /// trained network and auxiliary logits before they are disposed (null: none). Internal: the reference-fixture test
    /// replays a transcription's epochs and compares what they trained.
    /// </summary>
    internal GroupAssignment Identify(IGroupDataset dataset, Func<int, long[]>? epochOrder, Action<nn.Module<Tensor, Tensor>, Tensor>? trained)
    {
        var train = dataset.WithoutGroupLabels();
        long seed = _seeds.Derive("bam-order");
        using var model = _modelFactory();
        var device = model.parameters().FirstOrDefault()?.device ?? CPU;
        using var auxiliary = new Parameter(torch.zeros([train.Count, train.Scheme.NumClasses], ScalarType.Float32, device));
        using var optimizer = _optimizerFactory(model.parameters().Append(auxiliary));
        OwnNetworkTraining.Run(model, optimizer, train, Options.Epochs, Options.BatchSize, epochOrder ?? (e => Shuffling.EpochPermutation(train.Count, seed, e)),
            (logits, batch, indices) => nn.functional.cross_entropy(
                logits.to(ScalarType.Float32).add(auxiliary.index_select(0, HostUpload.Int64(indices, auxiliary.device)).mul(Options.AuxiliaryWeight)), batch.Labels),
            "The network", "loss with the auxiliary logits", _logger);
        trained?.Invoke(model, auxiliary);
        // the network alone decides the error set: the auxiliary logits only shaped what it learned
        var (wrong, _) = ModelPass.Run(model, train, Options.Pass, needLoss: false);
        var p = GroupAssignment.Identified(wrong, dataset, "bam", null, new Dictionary<string, string>
        {
            ["epochs"] = Options.Epochs.ToString(CultureInfo.InvariantCulture),
            ["lambda"] = Options.AuxiliaryWeight.ToString("R", CultureInfo.InvariantCulture),
            ["batchSize"] = Options.BatchSize.ToString(CultureInfo.InvariantCulture),
        });
        return IdentificationReport.Report(p, _logger);
    }
}
