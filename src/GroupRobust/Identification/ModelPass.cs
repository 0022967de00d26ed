using GroupRobust.Data;
using GroupRobust.Internal;
using TorchSharp;
using static TorchSharp.torch;

namespace GroupRobust.Identification;

/// <summary>
/// One eval-mode, no-grad pass of a model over a dataset that records per-sample statistics of its logits (whether the
/// arg-max is wrong, the cross-entropy loss, EIIL's scale derivative). Results are scattered into N-long buffers on the
/// model's device and copied to the host once at the end: memory is bounded by the batch plus the buffers, with no host
/// synchronisation per batch.
/// </summary>
internal static class ModelPass
{
    public static (bool[] Wrong, float[] Loss) Run(nn.Module<Tensor, Tensor> model, IGroupDataset dataset, IdentificationOptions options, bool needLoss)
    {
        var stats = Statistics(model, dataset, options, (logits, labels) => needLoss
            ? [logits.argmax(1).ne(labels).to(ScalarType.Float64), nn.functional.cross_entropy(logits, labels, reduction: nn.Reduction.None)]
            : [logits.argmax(1).ne(labels).to(ScalarType.Float64)]);
        return (stats[0].Select(v => v != 0).ToArray(), needLoss ? stats[1].Select(v => (float)v).ToArray() : []);
    }

    /// <summary>
    /// Per-sample statistics: <paramref name="perBatch"/> maps a batch's logits [B, C] and labels [B] (on the logits'
    /// device) to k tensors [B]; returns k host arrays of N values (float64; each statistic is accumulated in float64).
    /// </summary>
    public static double[][] Statistics(nn.Module<Tensor, Tensor> model, IGroupDataset dataset, IdentificationOptions options, Func<Tensor, Tensor, Tensor[]> perBatch)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(dataset);
        options.Validate();
        int classes = dataset.Scheme.NumClasses;
        using var modes = TrainingModes.Evaluating(model);
        Tensor[]? buffers = null;
        try
        {
            using var noGrad = torch.no_grad();
            foreach (var batch in dataset.Batches(options.BatchSize))
            {
                using var scope = NewDisposeScope();
                var device = options.Device ?? batch.Inputs.device;
                var logits = model.call(batch.Inputs.to(device));
                if (logits.dim() != 2 || logits.shape[1] != classes)
                    throw new ArgumentException($"The model must output logits [B, {classes}] for a {classes}-class dataset, got shape {Guard.Shape(logits)}.", nameof(model));
                Guard.Finite(logits, "logits");
                var labels = batch.Labels.to(logits.device);
                var values = perBatch(logits, labels);
                buffers ??= values.Select(_ => torch.zeros(dataset.Count, ScalarType.Float64, logits.device).DetachFromDisposeScope()).ToArray();
                var index = HostUpload.Int64(batch.Indices, logits.device);
                for (int k = 0; k < values.Length; k++) buffers[k].scatter_(0, index, values[k].to(ScalarType.Float64));
            }
            using var s = NewDisposeScope();
            return buffers!.Select(b => b.cpu().data<double>().ToArray()).ToArray();
        }
        finally
        {
            if (buffers is not null)
                foreach (var b in buffers) b.Dispose();
        }
    }
}
