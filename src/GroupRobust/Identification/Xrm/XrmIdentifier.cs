using GroupRobust.Internal;
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
/// XRM (Pezeshki et al., ICML 2024, "Discovering environments with XRM"): two networks ("twins") each train on a random
/// half of the training set and relabel the other half where they are confidently wrong about it; environments are
/// then read from the cross-mistakes. No group labels anywhere, not even for selection.
/// </summary>
/// <remarks>
/// <para>As in the reference (algorithms.py, main.py): every sample is held in by twin A with probability 1/2 (m_i);
/// dynamic labels start at y. Per step, on a shuffled batch, both twins run in train mode; held-in logits
/// m z_A + (1 - m) z_B, held-out logits the other way round; the loss is the class-balanced cross entropy of the held-in
/// logits against the dynamic labels (the sum over classes present of each class's mean); one optimizer steps both
/// twins. Then, from the pre-step held-out logits, each sample's dynamic label is flipped to the held-out prediction
/// with probability (p_max - 1/K) K / (K - 1). After the last step, in eval mode, a sample is a cross-mistake when
/// either twin's prediction differs from its true label; groups are (y, agree) = 2y and (y, cross-mistake) = 2y + 1.</para>
/// <para>Randomness: halves, batch order and flip draws come from the seed source (host draws, uploaded per batch); the
/// twins come from the caller's factory, which should initialise them from its own generator. The dynamic labels
/// stay on the batch's device: no host synchronisation per step except the flip-rate reports.</para>
/// </remarks>
public sealed class XrmIdentifier : IValidationIdentifier
{
    private readonly Func<nn.Module<Tensor, Tensor>> _twinFactory;
    private readonly Func<IEnumerable<Parameter>, OptimizerHelper> _optimizerFactory;
    private readonly SeedSource _seeds;
    private readonly ILogger _logger;

    /// <summary>Creates the identifier.</summary>
    /// <param name="twinFactory">Builds one twin (called twice per run, so twice more per restart; the identifier owns and disposes them).</param>
    /// <param name="optimizerFactory">Builds the optimizer over both twins' parameters (the reference: SGD with momentum 0.9 on images, AdamW on text).</param>
    /// <param name="seeds">Seed source of the halves ("xrm-halves"), the batch order ("xrm-order") and the flips ("xrm-flips"); restart r draws from its child "xrm-restart-r".</param>
    /// <param name="options">Steps, batch size, report frequency.</param>
    /// <param name="logger">Receives the flip rates and the read-out summary.</param>
    public XrmIdentifier(Func<nn.Module<Tensor, Tensor>> twinFactory, Func<IEnumerable<Parameter>, OptimizerHelper> optimizerFactory, SeedSource seeds,
        XrmOptions? options = null, ILogger? logger = null)
    {
        ArgumentNullException.ThrowIfNull(twinFactory);
        ArgumentNullException.ThrowIfNull(optimizerFactory);
        ArgumentNullException.ThrowIfNull(seeds);
        _twinFactory = twinFactory;
        _optimizerFactory = optimizerFactory;
        _seeds = seeds;
        Options = options ?? new XrmOptions();
        Options.Validate();
        _logger = logger ?? NullLogger.Instance;
    }

    /// <summary>The options in use.</summary>
    public XrmOptions Options { get; }

    /// <inheritdoc />
    public GroupAssignment Identify(IGroupDataset dataset) => Discover(dataset).Train;

    /// <inheritdoc />
    public (GroupAssignment Train, GroupAssignment Validation) Identify(IGroupDataset train, IGroupDataset validation)
    {
        ArgumentNullException.ThrowIfNull(validation);
        var result = Discover(train, validation);
        return (result.Train, result.Validation!);
    }

    /// <summary>Trains the twins on <paramref name="train"/> and reads the environments of it and of <paramref name="validation"/>.</summary>
    /// <param name="train">The training split (only its class labels are read).</param>
    /// <param name="validation">The validation split, read out with the same twins (null: none).</param>
    /// <exception cref="ArgumentException">A twin does not output one logit per class.</exception>
    public XrmResult Discover(IGroupDataset train, IGroupDataset? validation = null)
    {
        ArgumentNullException.ThrowIfNull(train);
        train = train.WithoutGroupLabels();
        validation = validation?.WithoutGroupLabels();
        for (int attempt = 0; ; attempt++)
        {
            var result = DiscoverOnce(train, validation, attempt == 0 ? _seeds : _seeds.Child($"xrm-restart-{attempt}")) with { Attempts = attempt + 1 };
            if (!result.Degenerate)
            {
                if (attempt > 0) _logger.LogInformation("XRM: run {Attempt} is not degenerate; kept.", attempt + 1);
                return result;
            }
            if (attempt == Options.Restarts)
            {
                _logger.LogWarning("XRM: some class fell entirely into one environment in every one of {Attempts} runs; the reference discards such runs; XrmResult.Degenerate is set, so check it before using the groups.", attempt + 1);
                return result;
            }
            _logger.LogWarning("XRM: run {Attempt} put some class entirely into one environment; as the reference, it is discarded and fresh twins are trained ({Left} restarts left).", attempt + 1, Options.Restarts - attempt);
        }
    }

    private XrmResult DiscoverOnce(IGroupDataset train, IGroupDataset? validation, SeedSource seeds)
    {
        int n = train.Count, k = train.Scheme.NumClasses;
        var halves = seeds.Random("xrm-halves");
        var heldInByA = new bool[n];
        for (int i = 0; i < n; i++) heldInByA[i] = halves.NextDouble() < 0.5;
        var flips = seeds.Random("xrm-flips");
        long orderSeed = seeds.Derive("xrm-order");
        using var twinA = _twinFactory();
        using var twinB = _twinFactory();
        if (ReferenceEquals(twinA, twinB)) throw new ArgumentException("The twin factory returned the same module twice; XRM needs two networks.", nameof(train));
        using var optimizer = _optimizerFactory(twinA.parameters().Concat(twinB.parameters()));
        Tensor? dynamic = null, mask = null, trueLabels = null;
        var history = new List<double>();
        try
        {
            twinA.train();
            twinB.train();
            int epoch = 0, position = 0;
            var order = Shuffling.EpochPermutation(n, orderSeed, epoch);
            for (int step = 1; step <= Options.Steps; step++)
            {
                if (position + Options.BatchSize > order.Length && position > 0)
                {
                    order = Shuffling.EpochPermutation(n, orderSeed, ++epoch);
                    position = 0;
                }
                int size = Math.Min(Options.BatchSize, order.Length - position);
                var indices = order.AsSpan(position, size).ToArray();
                position += size;
                using var scope = NewDisposeScope();
                using var batch = train.GetBatch(indices);
                var device = batch.Labels.device;
                if (dynamic is null)
                {
                    trueLabels = torch.tensor(train.Labels.ToArray().Select(v => (long)v).ToArray(), ScalarType.Int64, device).DetachFromDisposeScope();
                    dynamic = trueLabels.clone().DetachFromDisposeScope();
                    mask = torch.tensor(heldInByA).to(device).DetachFromDisposeScope();
                }
                var index = HostUpload.Int64(indices, device);
                var u = new float[size];
                for (int i = 0; i < size; i++) u[i] = flips.NextSingle();
                Step(twinA, twinB, optimizer, batch.Inputs, index, dynamic, mask!, u, k);
                if (step % Options.ReportEvery == 0 || step == Options.Steps)
                {
                    double rate = dynamic.ne(trueLabels!).to(ScalarType.Float64).mean().cpu().item<double>();
                    history.Add(rate);
                    _logger.LogInformation("XRM step {Step}/{Steps}: flip rate {Rate:P2}", step, Options.Steps, rate);
                }
            }
        }
        finally
        {
            dynamic?.Dispose();
            mask?.Dispose();
            trueLabels?.Dispose();
        }

        bool degenerate = false;
        var trainGroups = ReadOut(twinA, twinB, train, "train", ref degenerate, history[^1]);
        var valGroups = validation is null ? null : ReadOut(twinA, twinB, validation, "validation", ref degenerate, history[^1]);
        return new XrmResult { Train = trainGroups, Validation = valGroups, FlipRate = history[^1], FlipRateHistory = history, Degenerate = degenerate };
    }

    /// <summary>
    /// One step of the twins (the reference's <c>XRM.update</c>): held-in logits m z_A + (1 - m) z_B against the dynamic
    /// labels of the rows <paramref name="index"/>, the class-balanced cross entropy (the sum over the classes present of
    /// each class's mean), one optimizer step for both twins; then each row's dynamic label is set to the pre-step
    /// held-out prediction where <paramref name="uniforms"/>[i] &lt; (p_max - 1/K) K / (K - 1) (the reference's Bernoulli
    /// draw, with the uniforms given). Returns the loss (detached). Internal: <see cref="Discover"/> draws the uniforms; the
    /// reference-fixture tests give a transcription's.
    /// </summary>
    /// <exception cref="ArgumentException">A twin does not output logits [B, K].</exception>
    internal static Tensor Step(nn.Module<Tensor, Tensor> twinA, nn.Module<Tensor, Tensor> twinB, OptimizerHelper optimizer, Tensor inputs, Tensor index,
        Tensor dynamic, Tensor mask, float[] uniforms, int k)
    {
        using var scope = NewDisposeScope();
        var device = dynamic.device;
        var labels = dynamic.index_select(0, index);
        var m = mask.index_select(0, index).unsqueeze(1);
        var zA = twinA.call(inputs);
        var zB = twinB.call(inputs);
        if (zA.dim() != 2 || zA.shape[1] != k || !zA.shape.SequenceEqual(zB.shape))
            throw new ArgumentException($"The twins must output logits [B, {k}]; got {Internal.Guard.Shape(zA)} and {Internal.Guard.Shape(zB)}.", "train");   // Discover's argument: the twins do not fit its classes
        var heldIn = torch.where(m, zA, zB);
        var heldOut = torch.where(m, zB, zA).detach();
        var ce = nn.functional.cross_entropy(heldIn, labels, reduction: nn.Reduction.None).to(ScalarType.Float32);
        var sums = torch.zeros(k, ScalarType.Float32, device).scatter_add(0, labels, ce);
        var counts = torch.zeros(k, ScalarType.Float32, device).scatter_add(0, labels, torch.ones_like(ce));
        var loss = (sums / counts.clamp_min(1)).sum();
        optimizer.zero_grad();
        loss.backward();
        optimizer.step();
        using (torch.no_grad())
        {
            var p = nn.functional.softmax(heldOut.to(ScalarType.Float32), 1);
            var (pmax, predicted) = p.max(1);
            var probability = (pmax - 1.0 / k) * (k / (k - 1.0));
            var flip = HostUpload.Float32(uniforms, device).lt(probability);
            dynamic.index_copy_(0, index, torch.where(flip, predicted, labels));
        }
        return loss.detach().MoveToOuterDisposeScope();
    }

    /// <summary>
    /// The read-out (the reference's <c>cross_mistakes</c>): a sample is a cross-mistake when either twin's eval-mode
    /// prediction differs from its label; groups (y, agree) = 2y and (y, cross-mistake) = 2y + 1; a class entirely on one
    /// side sets <paramref name="degenerate"/>. Internal: the reference-fixture test reads the twins it trained.
    /// </summary>
    internal GroupAssignment ReadOut(nn.Module<Tensor, Tensor> a, nn.Module<Tensor, Tensor> b, IGroupDataset data, string split, ref bool degenerate, double flipRate)
    {
        var (wrongA, _) = ModelPass.Run(a, data, Options.Pass, needLoss: false);
        var (wrongB, _) = ModelPass.Run(b, data, Options.Pass, needLoss: false);
        var env = new int[data.Count];
        for (int i = 0; i < env.Length; i++) env[i] = wrongA[i] || wrongB[i] ? 1 : 0;
        int classes = data.Scheme.NumClasses;
        var labels = data.Labels.Span;
        var perClass = new int[classes, 2];
        for (int i = 0; i < env.Length; i++) perClass[labels[i], env[i]]++;
        for (int c = 0; c < classes; c++)
            if (perClass[c, 0] + perClass[c, 1] > 0 && (perClass[c, 0] == 0 || perClass[c, 1] == 0)) degenerate = true;
        var parameters = new Dictionary<string, string>
        {
            ["split"] = split,
            ["steps"] = Options.Steps.ToString(CultureInfo.InvariantCulture),
            ["flipRate"] = flipRate.ToString("R", CultureInfo.InvariantCulture),
        };
        var result = GroupAssignment.InferredByLibrary(env, data, 2, Enumerable.Range(0, classes).Select(c => 2 * c + 1).ToArray(), "xrm", null, parameters,
            ["agree", "cross-mistake"]);
        return IdentificationReport.Report(result, _logger);
    }
}
