using TorchSharp;
using static TorchSharp.torch;

namespace GroupRobust.Distributed;

/// <summary>
/// Keeps the replicas of a model identical across ranks: the parameters are broadcast from rank 0 once, and after every
/// backward pass the gradients are averaged over the global batch, weighted by each rank's rows, in one bucket (one
/// all-reduce per step for the whole model, plus the row count), so that every rank's optimizer step is the one a
/// single process would take with the global batch. Host buffers: the gradients are copied to the host and back
/// (an NCCL collective would all-reduce them on the device, docs/distributed.md).
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
    /// / total rows. Call after <c>backward()</c> (on the mean loss of this rank's <paramref name="localRows"/> rows) and
    /// before <c>optimizer.step()</c>, on every rank, even one whose part of the last batch was empty (localRows = 0,
    /// no backward: its gradients count as zero).
    /// </summary>
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
        // one bucket: every gradient scaled by this rank's rows, then the row count in the last slot
        var buffer = Flatten(parameters, p => p.grad ?? torch.zeros_like(p), extra: 1, scale: localRows);
        buffer[^1] = localRows;
        collective.AllReduceSum(buffer);
        float total = buffer[^1];
        if (total <= 0) throw new InvalidOperationException("The global batch has no rows on any rank.");
        for (int i = 0; i < buffer.Length - 1; i++) buffer[i] /= total;
        using var noGrad = torch.no_grad();
        int offset = 0;
        foreach (var p in parameters)
        {
            int n = (int)p.numel();
            using var averaged = torch.tensor(buffer.AsSpan(offset, n).ToArray(), p.shape).to(p.dtype, p.device);
            if (p.grad is null) p.grad = averaged.clone();
            else p.grad.copy_(averaged);
            offset += n;
        }
    }

    private static string Shorten(string text) => text.Length <= 300 ? text : text[..300] + "...";

    private static float[] Flatten(IReadOnlyList<Tensor> tensors, Func<Tensor, Tensor> pick, int extra = 0, double scale = 1)
    {
        long total = tensors.Sum(t => t.numel());
        var buffer = new float[total + extra];
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
        using var noGrad = torch.no_grad();
        int offset = 0;
        foreach (var t in tensors)
        {
            int n = (int)t.numel();
            using var values = torch.tensor(buffer.AsSpan(offset, n).ToArray(), t.shape).to(t.dtype, t.device);
            t.copy_(values);
            offset += n;
        }
    }
}
