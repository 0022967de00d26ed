using GroupRobust.Data;
using GroupRobust.Internal;
using Microsoft.Extensions.Logging;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace GroupRobust.Identification;

/// <summary>
/// The training loop of the identifiers that train a network of their own before reading its errors (the GCE-biased
/// model, BAM's stage 1): shuffled epochs, one optimizer step per batch of a loss the identifier supplies, each step in
/// a dispose scope, the epoch's mean loss logged (summed on the device, one host read per epoch, only when logged).
/// </summary>
internal static class OwnNetworkTraining
{
    /// <summary>Trains <paramref name="model"/> in place.</summary>
    /// <param name="model">The network, in training mode for the loop.</param>
    /// <param name="optimizer">Its optimizer (and of any parameter the loss adds).</param>
    /// <param name="train">The training split, without group labels.</param>
    /// <param name="epochs">Epochs, at least 1 (the identifier's checked option).</param>
    /// <param name="batchSize">Batch size (the identifier's checked option).</param>
    /// <param name="epochOrder">Epoch e's order (e from 0): the N sample indices, batched in that order (the identifiers give
    /// seeded permutations, a pure function of their seed and e).</param>
    /// <param name="loss">The mean loss of a batch from the network's logits [B, C], the batch and its sample indices.</param>
    /// <param name="who">What the network is, for the message about its output ("The biased model").</param>
    /// <param name="lossName">What the logged loss is ("GCE surrogate loss").</param>
    /// <param name="logger">Receives the epoch lines.</param>
    /// <exception cref="ArgumentException">The network does not output one logit per class (parameter "dataset").</exception>
    public static void Run(nn.Module<Tensor, Tensor> model, OptimizerHelper optimizer, IGroupDataset train, int epochs, int batchSize, Func<int, long[]> epochOrder,
        Func<Tensor, Batch, long[], Tensor> loss, string who, string lossName, ILogger logger)
    {
        int n = train.Count, k = train.Scheme.NumClasses;
        model.train();
        bool report = logger.IsEnabled(LogLevel.Information);   // the epoch's loss is summed only to be logged
        for (int epoch = 0; epoch < epochs; epoch++)
        {
            var order = epochOrder(epoch);
            Tensor? total = null;
            try
            {
                for (int start = 0; start < n; start += batchSize)
                {
                    var indices = order.AsSpan(start, Math.Min(batchSize, n - start)).ToArray();
                    using var scope = NewDisposeScope();
                    using var batch = train.GetBatch(indices);
                    var logits = model.call(batch.Inputs);
                    if (logits.dim() != 2 || logits.shape[1] != k)
                        throw new ArgumentException($"{who} must output logits [B, {k}] for a {k}-class dataset, got shape {Guard.Shape(logits)}.", "dataset");
                    var value = loss(logits, batch, indices);
                    optimizer.zero_grad();
                    value.backward();
                    optimizer.step();
                    if (report)
                    {
                        using var noGrad = torch.no_grad();
                        var sum = value.detach().to(ScalarType.Float64) * indices.Length;
                        if (total is null) total = sum.DetachFromDisposeScope();
                        else total.add_(sum);
                    }
                }
                if (report)
                    logger.LogInformation("{Network}: epoch {Epoch}/{Epochs}, {LossName} {Loss:F4}", who, epoch + 1, epochs, lossName, total!.ToDouble() / n);   // one host read per epoch, no tensor left behind
            }
            finally
            {
                total?.Dispose();
            }
        }
    }
}
