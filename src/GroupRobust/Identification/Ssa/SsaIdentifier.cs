using System.Globalization;
using GroupRobust.Data;
using GroupRobust.Internal;
using GroupRobust.Models;
using GroupRobust.Randomness;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace GroupRobust.Identification;

/// <summary>
/// Spread Spurious Attribute (Nam et al., 2022, "Spread Spurious Attribute: Improving Worst-group Accuracy with Spurious
/// Attribute Estimation"): the spurious attribute of every training sample predicted by a network trained
/// semi-supervised, on the validation split's attribute labels and on the training split's confident pseudo-labels, the
/// rarest attribute's pseudo-labels balanced against the others. The training split is cut into
/// <see cref="SsaOptions.Splits"/> folds; each fold is labelled by a network trained on the others and on part of the
/// validation split, chosen by its attribute accuracy on the rest. The groups are (class, predicted attribute) with the
/// dataset's attribute names; a group smaller than its class's largest is on the minority side. Label budget: the
/// validation split's group labels, to fit (<see cref="Groups.LabelBudget.ValidationGroupsForFitting"/>); the groups
/// carry it (<see cref="GroupSource.FittedOnValidationGroups"/>), so every method trained on them counts it.
/// </summary>
/// <remarks>
/// <para>Follows SpuCo's <c>SSA</c> (BigML-CS-UCLA/SpuCo, <c>group_inference/ssa.py</c>): per step, the cross entropy of a
/// labelled batch plus that of the selected pseudo-labels of an unlabelled batch: the predictions of the rarest attribute
/// g_min with confidence at least <see cref="SsaOptions.Threshold"/>, and for every other attribute a of the labelled
/// batch, its k most confident predictions, k = n_L(g_min) + n_U(g_min) - n_L(a) (at least 0), where n_L counts the
/// labelled batch and n_U the selected pseudo-labels. Differences: the confidence is the softmax probability (the
/// paper's; SpuCo compares raw logits with the threshold); g_min is the rarest attribute of the whole validation split;
/// the network is evaluated every <see cref="SsaOptions.EvaluateEvery"/> steps rather than after every step; each fold's
/// network is a fresh one from the factory.</para>
/// <para>The predictor is the factory's network with its final classifier replaced by a linear layer with one output per
/// attribute value, reading the representation the classifier reads (<see cref="IEncoderHead.Encode"/>, or the input of
/// the final module). A step reads the unlabelled batch's predictions on the host once (the selection's sizes depend on
/// them), as the reference does. Randomness flows from the seed source; networks, heads, optimizers and the best
/// snapshot are the identifier's and are disposed when it returns.</para>
/// </remarks>
public sealed class SsaIdentifier : IGroupIdentifier
{
    private readonly Func<nn.Module<Tensor, Tensor>> _modelFactory;
    private readonly Func<IEnumerable<Parameter>, OptimizerHelper> _optimizerFactory;
    private readonly IGroupDataset _validation;
    private readonly SeedSource _seeds;
    private readonly ILogger _logger;

    /// <summary>Creates the identifier.</summary>
    /// <param name="modelFactory">Builds a network of the task (one per fold; the identifier owns and disposes it).</param>
    /// <param name="optimizerFactory">Builds the optimizer of a network's and its attribute head's parameters.</param>
    /// <param name="validation">The validation split with its group labels (read: its attribute labels); not owned.</param>
    /// <param name="seeds">Seed source of the folds, the validation halves, the batch orders and the heads.</param>
    /// <param name="options">Folds, steps, threshold, batch size; SpuCo's defaults when null.</param>
    /// <param name="logger">Receives each fold's selection accuracy and the groups' summary; <see cref="NullLogger"/> by default.</param>
    /// <exception cref="ArgumentOutOfRangeException">An option is out of range.</exception>
    /// <exception cref="ArgumentException"><paramref name="validation"/> has no group labels, one attribute value, or fewer than 2 samples.</exception>
    public SsaIdentifier(Func<nn.Module<Tensor, Tensor>> modelFactory, Func<IEnumerable<Parameter>, OptimizerHelper> optimizerFactory, IGroupDataset validation,
        SeedSource seeds, SsaOptions? options = null, ILogger? logger = null)
    {
        ArgumentNullException.ThrowIfNull(modelFactory);
        ArgumentNullException.ThrowIfNull(optimizerFactory);
        ArgumentNullException.ThrowIfNull(validation);
        ArgumentNullException.ThrowIfNull(seeds);
        Options = options ?? new SsaOptions();
        Options.Validate();
        if (!validation.HasGroups)
            throw new ArgumentException("SSA fits its attribute predictor on the validation split's group labels, and this split has none.", nameof(validation));
        if (validation.Scheme.NumAttributes < 2)
            throw new ArgumentException("SSA predicts the spurious attribute, and the validation split's scheme has 1 attribute value; it needs at least 2.", nameof(validation));
        if (validation.Count < 2)
            throw new ArgumentException($"The validation split has {validation.Count} sample; SSA needs at least 2 (one to fit, one to choose the network).", nameof(validation));
        _modelFactory = modelFactory;
        _optimizerFactory = optimizerFactory;
        _validation = validation;
        _seeds = seeds;
        _logger = logger ?? NullLogger.Instance;
    }

    /// <summary>The options in use.</summary>
    public SsaOptions Options { get; }

    /// <inheritdoc />
    /// <exception cref="ArgumentException">The split's classes or attribute values differ from the validation split's, it has fewer samples than folds, or the network's representation is not [B, D].</exception>
    public GroupAssignment Identify(IGroupDataset dataset)
    {
        ArgumentNullException.ThrowIfNull(dataset);
        var scheme = _validation.Scheme;
        if (dataset.Scheme.NumClasses != scheme.NumClasses || dataset.Scheme.NumAttributes != scheme.NumAttributes)
            throw new ArgumentException($"The training split has {dataset.Scheme.NumClasses} classes x {dataset.Scheme.NumAttributes} attribute values, the validation split " +
                $"{scheme.NumClasses} x {scheme.NumAttributes}: SSA's attributes would not mean the same thing.", nameof(dataset));
        if (dataset.Count < Options.Splits)
            throw new ArgumentException($"The training split has {dataset.Count} samples, fewer than the {Options.Splits} folds.", nameof(dataset));
        var train = dataset.WithoutGroupLabels();
        int n = train.Count, attributes = scheme.NumAttributes;
        var validationAttributes = _validation.Groups.ToArray().Select(g => g % attributes).ToArray();
        int rarest = RarestAttribute(validationAttributes, attributes);

        // the training folds (numpy's array_split of a permutation) and the validation halves
        var order = Shuffling.Identity(n);
        Shuffling.Shuffle(order.AsSpan(), _seeds.Random("ssa-folds"));
        var folds = new long[Options.Splits][];
        for (int f = 0, start = 0; f < Options.Splits; f++)
        {
            int size = n / Options.Splits + (f < n % Options.Splits ? 1 : 0);
            folds[f] = order.AsSpan(start, size).ToArray();
            start += size;
        }
        var validationOrder = Shuffling.Identity(_validation.Count);
        Shuffling.Shuffle(validationOrder.AsSpan(), _seeds.Random("ssa-validation"));
        int selectionSize = Math.Clamp((int)(_validation.Count * Options.SelectionFraction), 1, _validation.Count - 1);
        var selection = validationOrder[..selectionSize];
        var fitting = validationOrder[selectionSize..];

        var predicted = new int[n];
        var accuracies = new double[Options.Splits];
        for (int f = 0; f < Options.Splits; f++)
        {
            var others = folds.Where((_, g) => g != f).SelectMany(x => x).ToArray();
            accuracies[f] = TrainAndLabel(train, others, folds[f], fitting, selection, validationAttributes, rarest, f, predicted);
            _logger.LogInformation("SSA: fold {Fold}/{Folds}: attribute accuracy {Accuracy:P1} on the {Selection} validation samples that choose the network",
                f + 1, Options.Splits, accuracies[f], selection.Length);
        }

        var labels = train.Labels.Span;
        var sizes = new int[scheme.NumClasses * attributes];
        for (int i = 0; i < n; i++) sizes[labels[i] * attributes + predicted[i]]++;
        var minority = new List<int>();
        for (int y = 0; y < scheme.NumClasses; y++)
        {
            int largest = Enumerable.Range(0, attributes).Max(a => sizes[y * attributes + a]);
            minority.AddRange(Enumerable.Range(0, attributes).Where(a => sizes[y * attributes + a] > 0 && sizes[y * attributes + a] < largest).Select(a => y * attributes + a));
        }
        var parameters = new Dictionary<string, string>
        {
            ["splits"] = Options.Splits.ToString(CultureInfo.InvariantCulture),
            ["steps"] = Options.Steps.ToString(CultureInfo.InvariantCulture),
            ["threshold"] = Options.Threshold.ToString("R", CultureInfo.InvariantCulture),
            ["selectionFraction"] = Options.SelectionFraction.ToString("R", CultureInfo.InvariantCulture),
            ["rarestAttribute"] = rarest.ToString(CultureInfo.InvariantCulture),
            ["selectionAccuracyPerFold"] = string.Join(",", accuracies.Select(a => a.ToString("F4", CultureInfo.InvariantCulture))),
        };
        var result = GroupAssignment.FittedOnValidationGroups(predicted, dataset, attributes, minority, "ssa", parameters, scheme.AttributeNames);
        return IdentificationReport.Report(result, _logger);
    }

    /// <summary>The attribute value with the fewest validation samples (ties: the smallest value); values absent from the split are not candidates.</summary>
    internal static int RarestAttribute(int[] attributes, int count)
    {
        var counts = new int[count];
        foreach (var a in attributes) counts[a]++;
        return Enumerable.Range(0, count).Where(a => counts[a] > 0).MinBy(a => counts[a]);
    }

    /// <summary>Trains one fold's predictor, keeps its best state by selection accuracy, labels the fold; returns that accuracy.</summary>
    private double TrainAndLabel(IGroupDataset train, long[] unlabelled, long[] fold, long[] fitting, long[] selection, int[] validationAttributes, int rarest,
        int f, int[] predicted)
    {
        int attributes = _validation.Scheme.NumAttributes;
        using var network = _modelFactory();
        var device = network.parameters().FirstOrDefault()?.device ?? CPU;
        using var head = NewHead(network, fitting, attributes, device, f);
        using var optimizer = _optimizerFactory(network.parameters().Concat(head.parameters()));
        Dictionary<string, Tensor>? bestNetwork = null, bestHead = null;
        double bestAccuracy = -1;
        try
        {
            var fittingBatches = new Cycle(fitting, Options.BatchSize, _seeds.Derive($"ssa-labelled-{f}"));
            var unlabelledBatches = new Cycle(unlabelled, Options.BatchSize, _seeds.Derive($"ssa-unlabelled-{f}"));
            for (int step = 0; step < Options.Steps; step++)
            {
                network.train();
                head.train();
                using (var scope = NewDisposeScope())
                {
                    var labelled = fittingBatches.Next();
                    var targets = labelled.Select(i => (long)validationAttributes[i]).ToArray();
                    using var labelledBatch = _validation.GetBatch(labelled);
                    var supervised = nn.functional.cross_entropy(Logits(network, head, labelledBatch.Inputs, device), HostUpload.Int64(targets, device));
                    using var unlabelledBatch = train.GetBatch(unlabelledBatches.Next());
                    var logits = Logits(network, head, unlabelledBatch.Inputs, device);
                    var selected = PseudoLabels(logits, targets, rarest, attributes, out var pseudo);
                    var loss = selected.Length == 0 ? supervised
                        : supervised + nn.functional.cross_entropy(logits.index_select(0, HostUpload.Int64(selected, device)), HostUpload.Int64(pseudo, device));
                    optimizer.zero_grad();
                    loss.backward();
                    optimizer.step();
                }
                if ((step + 1) % Options.EvaluateEvery != 0 && step != Options.Steps - 1) continue;
                double accuracy = Accuracy(network, head, selection, validationAttributes, device);
                if (accuracy >= bestAccuracy)
                {
                    bestAccuracy = accuracy;
                    ModuleState.Free(bestNetwork);
                    ModuleState.Free(bestHead);
                    (bestNetwork, bestHead) = (null, null);
                    bestNetwork = ModuleState.Copy(network);
                    bestHead = ModuleState.Copy(head);
                }
                if (accuracy == 1) break;   // nothing left to choose (the reference stops here too)
            }
            // the last step is always evaluated and every accuracy beats -1, so a best state exists
            network.load_state_dict(bestNetwork!);
            head.load_state_dict(bestHead!);
            Label(network, head, train, fold, device, predicted);
            return bestAccuracy;
        }
        finally
        {
            ModuleState.Free(bestNetwork);
            ModuleState.Free(bestHead);
        }
    }

    /// <summary>The attribute head: a linear layer from the network's representation, initialised as PyTorch's Linear from the seed source.</summary>
    private Linear NewHead(nn.Module<Tensor, Tensor> network, long[] fitting, int attributes, Device device, int f)
    {
        long dimension;
        using (var scope = NewDisposeScope())
        using (torch.no_grad())
        {
            network.eval();
            using var probe = _validation.GetBatch(fitting.AsSpan(0, 1));
            var (features, _) = Penultimate.Forward(network, probe.Inputs.to(device), "modelFactory");
            if (features.dim() != 2)
                throw new ArgumentException($"SSA reads the representation the network's classifier reads, and it has shape {Guard.Shape(features)}; expected [B, D].", "modelFactory");
            dimension = features.shape[1];
        }
        var head = nn.Linear(dimension, attributes);
        using (var generator = _seeds.Generator($"ssa-head-{f}"))
            SeededLinear.Initialize(head, generator);
        return head.to(device);
    }

    private static Tensor Logits(nn.Module<Tensor, Tensor> network, Linear head, Tensor inputs, Device device)
        => head.call(Penultimate.Forward(network, inputs.to(device), "modelFactory").Features).to(ScalarType.Float32);

    /// <summary>
    /// The rows of the unlabelled batch whose pseudo-labels enter the loss and those labels (SpuCo's selection, by softmax
    /// confidence): one host read of the batch's predictions.
    /// </summary>
    private long[] PseudoLabels(Tensor logits, long[] labelledTargets, int rarest, int attributes, out long[] pseudoLabels)
    {
        float[] confidence;
        long[] prediction;
        using (var scope = NewDisposeScope())
        using (torch.no_grad())
        {
            var (max, argmax) = nn.functional.softmax(logits.detach(), 1).max(1);
            confidence = max.cpu().data<float>().ToArray();
            prediction = argmax.cpu().data<long>().ToArray();
        }
        return Select(confidence, prediction, labelledTargets, rarest, attributes, Options.Threshold, out pseudoLabels);
    }

    /// <summary>The selection on host arrays (see <see cref="PseudoLabels"/>).</summary>
    internal static long[] Select(float[] confidence, long[] prediction, long[] labelledTargets, int rarest, int attributes, double threshold, out long[] pseudoLabels)
    {
        var counts = new int[attributes];
        foreach (var t in labelledTargets) counts[t]++;
        var selected = new List<long>();
        for (int i = 0; i < prediction.Length; i++)
            if (prediction[i] == rarest && confidence[i] >= threshold) selected.Add(i);
        int rarestTotal = counts[rarest] + selected.Count;
        foreach (int a in Enumerable.Range(0, attributes).Where(a => a != rarest && counts[a] > 0).OrderByDescending(a => counts[a]).ThenBy(a => a))
        {
            var candidates = Enumerable.Range(0, prediction.Length).Where(i => prediction[i] == a).OrderByDescending(i => confidence[i]).ThenBy(i => i).ToArray();
            int k = Math.Min(Math.Max(rarestTotal - counts[a], 0), candidates.Length);
            selected.AddRange(candidates.Take(k).Select(i => (long)i));
        }
        pseudoLabels = selected.Select(i => prediction[i]).ToArray();
        return selected.ToArray();
    }

    /// <summary>The share of <paramref name="indices"/> whose attribute the predictor gets right (eval mode; one host read).</summary>
    private double Accuracy(nn.Module<Tensor, Tensor> network, Linear head, long[] indices, int[] attributes, Device device)
    {
        network.eval();
        head.eval();
        using var scope = NewDisposeScope();
        using var noGrad = torch.no_grad();
        Tensor correct = torch.zeros(1, ScalarType.Int64, device);
        for (int start = 0; start < indices.Length; start += Options.Pass.BatchSize)
        {
            using var chunkScope = NewDisposeScope();   // each chunk's tensors freed before the next; the running count lives in the outer scope
            var chunk = indices.AsSpan(start, Math.Min(Options.Pass.BatchSize, indices.Length - start)).ToArray();
            using var batch = _validation.GetBatch(chunk);
            var targets = HostUpload.Int64(chunk.Select(i => (long)attributes[i]).ToArray(), device);
            correct.add_(Logits(network, head, batch.Inputs, device).argmax(1).eq(targets).sum());
        }
        return correct.ToInt64() / (double)indices.Length;
    }

    /// <summary>Writes the predicted attribute of every sample of <paramref name="fold"/> into <paramref name="predicted"/> (eval mode).</summary>
    private void Label(nn.Module<Tensor, Tensor> network, Linear head, IGroupDataset train, long[] fold, Device device, int[] predicted)
    {
        network.eval();
        head.eval();
        using var noGrad = torch.no_grad();
        for (int start = 0; start < fold.Length; start += Options.Pass.BatchSize)
        {
            using var scope = NewDisposeScope();
            var chunk = fold.AsSpan(start, Math.Min(Options.Pass.BatchSize, fold.Length - start)).ToArray();
            using var batch = train.GetBatch(chunk);
            var values = Logits(network, head, batch.Inputs, device).argmax(1).cpu().data<long>().ToArray();
            for (int j = 0; j < chunk.Length; j++) predicted[chunk[j]] = (int)values[j];
        }
    }

    /// <summary>Batches of a fixed set of indices in shuffled epochs, one after another (a DataLoader with shuffle, iterated forever).</summary>
    private sealed class Cycle(long[] indices, int batchSize, long seed)
    {
        private long[] _order = [];
        private int _position;
        private int _epoch;

        public long[] Next()
        {
            if (_position >= _order.Length)
            {
                var permutation = Shuffling.EpochPermutation(indices.Length, seed, _epoch++);
                _order = permutation.Select(p => indices[p]).ToArray();
                _position = 0;
            }
            var batch = _order.AsSpan(_position, Math.Min(batchSize, _order.Length - _position)).ToArray();
            _position += batch.Length;
            return batch;
        }
    }
}
