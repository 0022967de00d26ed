using TorchSharp;
using static TorchSharp.torch;

namespace GroupRobust.Distributed;

/// <summary>
/// Keeps the replicas of a model identical across ranks: the parameters are broadcast from rank 0 once, and after every
/// backward pass the gradients are averaged over the global batch, weighted by each rank's rows, in one bucket (one
/// all-reduce per step for the whole model, plus the row count), so that every rank's optimizer step is the one a
/// single process would take with the global batch; the model's buffers (BatchNorm's running statistics) ride in the
/// same bucket and stay identical too. Host buffers: the gradients are copied to the host and back (an NCCL collective
/// would all-reduce them on the device, docs/distributed.md).
/// </summary>
public static class GradientAveraging
{
    /// <summary>
    /// Copies rank 0's parameters and buffers to every rank, after checking that every rank's model has the same
    /// layout (names, shapes and dtypes), so that a rank built with another architecture fails with a message instead of
    /// exchanging buffers of other lengths.
    /// </summary>
    /// <exception cref="InvalidOperationException">The ranks' models differ in layout (every rank throws).</exception>
    public static void BroadcastParameters(nn.Module model, ICollective collective)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(collective);
        if (collective.Size == 1) return;
        var entries = model.state_dict().OrderBy(kv => kv.Key, StringComparer.Ordinal).ToArray();
        string layout = string.Join(";", entries.Select(kv => $"{kv.Key}:{kv.Value.dtype}[{string.Join(",", kv.Value.shape)}]"));
        var layouts = collective.AllGather([entries.Length, entries.Sum(kv => kv.Value.numel()), Gathering.Fingerprint(System.Text.Encoding.UTF8.GetBytes(layout))]);
        for (int r = 1; r < layouts.Length; r++)
            if (!layouts[r].AsSpan().SequenceEqual(layouts[0]))
                throw new InvalidOperationException($"The ranks' models differ: rank 0's has {layouts[0][0]} parameters and buffers ({layouts[0][1]} numbers), rank {r}'s has {layouts[r][0]} ({layouts[r][1]} numbers) or other names, shapes or dtypes; every rank must build the same architecture (rank {collective.Rank}'s: {Shorten(layout)}).");
        var tensors = model.state_dict().Values.Where(t => t.is_floating_point()).ToArray();
        var buffer = Flatten(tensors, t => t);
        collective.Broadcast(buffer);
        Unflatten(buffer, tensors);
    }

    /// <summary>
    /// Replaces every parameter's gradient by the global-batch mean: (sum over ranks of localRows x local mean gradient)
    /// / total rows; and keeps the model's buffers identical on every rank: floating buffers (BatchNorm's running
    /// statistics) become their row-weighted mean over the ranks, integer buffers (BatchNorm's batch counter) rank 0's
    /// value. Call after <c>backward()</c> (on the mean loss of this rank's <paramref name="localRows"/> rows) and before
    /// <c>optimizer.step()</c>, on every rank, even one whose part of the last batch was empty (localRows = 0, no
    /// backward: its gradients count as zero). One all-reduce per step for the gradients, the floating buffers and the
    /// row count (one bucket), plus one small int64 all-reduce when the model has integer buffers.
    /// </summary>
    /// <remarks>
    /// The running statistics follow every rank's data (PyTorch's DDP instead broadcasts rank 0's buffers); the batch
    /// statistics a BatchNorm normalises with are still each rank's own rows, as without SyncBatchNorm.
    /// </remarks>
    /// <exception cref="InvalidOperationException">The global batch has no rows.</exception>
    public static void AverageGradients(nn.Module model, ICollective collective, long localRows)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(collective);
        ArgumentOutOfRangeException.ThrowIfNegative(localRows);
        if (collective.Size == 1)
        {
            // a job of one: the local mean gradient is the global one
            if (localRows == 0) throw new InvalidOperationException("The global batch has no rows on any rank.");
            return;
        }
        var parameters = model.parameters().Where(p => p.requires_grad).ToArray();
        var buffers = model.buffers().ToArray();
        var floating = buffers.Where(b => b.is_floating_point()).ToArray();
        var integral = buffers.Where(b => !b.is_floating_point() && b.dtype != ScalarType.Bool).ToArray();
        // one bucket: every gradient and floating buffer scaled by this rank's rows, then the row count in the last slot
        var gradients = Flatten(parameters, p => p.grad ?? torch.zeros_like(p), scale: localRows);
        var state = Flatten(floating, b => b, scale: localRows);
        var buffer = new float[gradients.Length + state.Length + 1];
        gradients.CopyTo(buffer, 0);
        state.CopyTo(buffer, gradients.Length);
        buffer[^1] = localRows;
        collective.AllReduceSum(buffer);
        float total = buffer[^1];
        if (total <= 0) throw new InvalidOperationException("The global batch has no rows on any rank.");
        for (int i = 0; i < buffer.Length - 1; i++) buffer[i] /= total;
        using var scope = NewDisposeScope();
        using var noGrad = torch.no_grad();
        int offset = 0;
        foreach (var p in parameters)
        {
            int n = (int)p.numel();
            var averaged = torch.tensor(buffer.AsSpan(offset, n).ToArray(), p.shape).to(p.dtype, p.device);
            if (p.grad is null) p.grad = averaged.clone().DetachFromDisposeScope();
            else p.grad.copy_(averaged);
            offset += n;
        }
        foreach (var b in floating)
        {
            int n = (int)b.numel();
            b.copy_(torch.tensor(buffer.AsSpan(offset, n).ToArray(), b.shape).to(b.dtype, b.device));
            offset += n;
        }
        if (integral.Length > 0)
        {
            // rank 0's counters everywhere: the others contribute zeros
            var counters = integral.SelectMany(b => b.cpu().to(ScalarType.Int64).data<long>().ToArray()).ToArray();
            if (collective.Rank != 0) Array.Clear(counters);
            collective.AllReduceSum(counters);
            int at = 0;
            foreach (var b in integral)
            {
                int n = (int)b.numel();
                b.copy_(torch.tensor(counters.AsSpan(at, n).ToArray(), b.shape).to(b.dtype, b.device));
                at += n;
            }
        }
    }

    private static string Shorten(string text) => text.Length <= 300 ? text : text[..300] + "...";

    private static float[] Flatten(IReadOnlyList<Tensor> tensors, Func<Tensor, Tensor> pick, double scale = 1)
    {
        long total = tensors.Sum(t => t.numel());
        var buffer = new float[total];
        int offset = 0;
        using var scope = NewDisposeScope();
        foreach (var t in tensors)
        {
            var values = pick(t).detach().to(ScalarType.Float32).cpu().contiguous();
            if (scale != 1) values = values * scale;
            values.data<float>().CopyTo(buffer.AsSpan(offset, (int)values.numel()));
            offset += (int)values.numel();
        }
        return buffer;
    }

    private static void Unflatten(float[] buffer, IReadOnlyList<Tensor> tensors)
    {
        using var scope = NewDisposeScope();
        using var noGrad = torch.no_grad();
        int offset = 0;
        foreach (var t in tensors)
        {
            int n = (int)t.numel();
            var values = torch.tensor(buffer.AsSpan(offset, n).ToArray(), t.shape).to(t.dtype, t.device);
            t.copy_(values);
            offset += n;
        }
    }
}
