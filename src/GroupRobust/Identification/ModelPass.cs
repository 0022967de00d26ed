using GroupRobust.Data;
using GroupRobust.Internal;
using TorchSharp;
using static TorchSharp.torch;

namespace GroupRobust.Identification;

/// <summary>
/// One eval-mode, no-grad pass of a model over a dataset that records, per sample, whether the arg-max is wrong and
/// the cross-entropy loss. Results are scattered into two N-long buffers on the model's device and copied to the host
/// once at the end: memory is bounded by the batch plus the buffers, with no host synchronisation per batch.
/// </summary>
internal static class ModelPass
{
    public static (bool[] Wrong, float[] Loss) Run(nn.Module<Tensor, Tensor> model, IGroupDataset dataset, IdentificationOptions options, bool needLoss)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(dataset);
        options.Validate();
        int classes = dataset.Scheme.NumClasses;
        using var modes = TrainingModes.Evaluating(model);
        Tensor? wrongBuf = null, lossBuf = null;
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
                if (wrongBuf is null)
                {
                    wrongBuf = torch.zeros(dataset.Count, ScalarType.Bool, logits.device).DetachFromDisposeScope();
                    if (needLoss) lossBuf = torch.zeros(dataset.Count, ScalarType.Float32, logits.device).DetachFromDisposeScope();
                }
                var labels = batch.Labels.to(logits.device);
                var index = torch.tensor(batch.Indices, ScalarType.Int64, logits.device);
                wrongBuf.scatter_(0, index, logits.argmax(1).ne(labels));
                if (lossBuf is not null)
                    lossBuf.scatter_(0, index, nn.functional.cross_entropy(logits, labels, reduction: nn.Reduction.None).to(ScalarType.Float32));
            }
            using var s = NewDisposeScope();
            var wrong = wrongBuf!.cpu().data<bool>().ToArray();
            var loss = lossBuf is null ? [] : lossBuf.cpu().data<float>().ToArray();
            return (wrong, loss);
        }
        finally
        {
            wrongBuf?.Dispose();
            lossBuf?.Dispose();
        }
    }
}
