using TorchSharp;
using static TorchSharp.torch;

namespace GroupRobust.Distributed;

/// <summary>
/// Keeps the replicas of a model identical across ranks: the parameters are broadcast from rank 0 once, and after every
/// backward pass the gradients are averaged over the global batch, weighted by each rank's rows, in one bucket (one
/// all-reduce per step for the whole model, plus the row count), so that every rank's optimizer step is the one a
/// single process would take with the global batch; the model's buffers (BatchNorm's running statistics) ride in the
/// same bucket and stay identical too. No gradient is averaged before the ranks have checked that their models have
/// the same layout (names, dtypes, shapes, which parameters train), so a rank with another model ends the job with a
/// message naming it instead of averaging unrelated numbers. Host buffers: the gradients are copied to the host and back (an NCCL collective
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
    /// <para>
    /// The ranks' model layouts are checked before any gradient is averaged: every parameter's name, dtype, shape and
    /// whether it trains, and every buffer's name, dtype and shape, in the model's order, must be rank 0's (equal counts
    /// of numbers are not enough: a transposed or reordered layout would average unrelated gradients). The first call on a
    /// collective checks with one extra all-reduce of 64 int64 (<see cref="DataParallel.TrainEpoch"/> checks at every
    /// epoch and spares it); every later call carries the layout's fingerprint in its own bucket (64 more floats, no
    /// extra collective), so a rank whose model changed alone is caught too, and a layout every rank changed alike (a
    /// layer frozen everywhere) is checked again and averaged. On a difference every rank throws the same message,
    /// naming the ranks that differ from rank 0 and the first parameter or buffer that differs, and no gradient or buffer
    /// has changed.
    /// </para>
    /// <para>
    /// The running statistics follow every rank's data (PyTorch's DDP instead broadcasts rank 0's buffers); the batch
    /// statistics a BatchNorm normalises with are still each rank's own rows, as without SyncBatchNorm.
    /// </para>
    /// </remarks>
    /// <exception cref="InvalidOperationException">The global batch has no rows; or the ranks' model layouts differ
    /// (every rank throws, naming the ranks that differ from rank 0 and what differs).</exception>
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
        var layout = ModelLayout.Of(model);
        var agreed = LayoutAgreement.Current(collective) ?? LayoutAgreement.Establish(collective, layout, []);
        float[] buffer;
        while (true)
        {
            // one bucket: every gradient and floating buffer scaled by this rank's rows, the layout's fingerprint as 64
            // counters of 0 or 1, then the row count in the last slot; a rank whose layout is not the agreed one sends
            // the agreed length without numbers, so that every rank sees the disagreement in the same exchange
            bool agreedHere = layout.Fingerprint == agreed.Fingerprint;
            int fingerprintAt = checked((int)(agreed.GradientNumbers + agreed.StateNumbers));
            buffer = new float[fingerprintAt + 64 + 1];
            if (agreedHere)
            {
                Flatten(layout.Trained, p => p.grad ?? torch.zeros_like(p), localRows, buffer.AsSpan(0, (int)agreed.GradientNumbers));
                Flatten(layout.Floating, b => b, localRows, buffer.AsSpan((int)agreed.GradientNumbers, (int)agreed.StateNumbers));
            }
            LayoutAgreement.WriteBits(buffer, fingerprintAt, layout.Fingerprint);
            buffer[^1] = agreedHere ? localRows : 0;
            collective.AllReduceSum(buffer);
            var (agree, fingerprint) = LayoutAgreement.ReadBits(buffer, fingerprintAt, collective.Size);
            if (!agree) LayoutAgreement.FailLayout(collective, layout);
            if (fingerprint == agreed.Fingerprint) break;
            // every rank changed its layout alike since the last check: check the new one, then exchange again
            agreed = LayoutAgreement.Establish(collective, layout, []);
        }
        float total = buffer[^1];
        if (total <= 0) throw new InvalidOperationException("The global batch has no rows on any rank.");
        int numbers = (int)(agreed.GradientNumbers + agreed.StateNumbers);
        for (int i = 0; i < numbers; i++) buffer[i] /= total;
        using var scope = NewDisposeScope();
        using var noGrad = torch.no_grad();
        int offset = 0;
        foreach (var p in layout.Trained)
        {
            int n = (int)p.numel();
            var averaged = torch.tensor(buffer.AsSpan(offset, n).ToArray(), p.shape).to(p.dtype, p.device);
            if (p.grad is null) p.grad = averaged.clone().DetachFromDisposeScope();
            else p.grad.copy_(averaged);
            offset += n;
        }
        foreach (var b in layout.Floating)
        {
            int n = (int)b.numel();
            b.copy_(torch.tensor(buffer.AsSpan(offset, n).ToArray(), b.shape).to(b.dtype, b.device));
            offset += n;
        }
        if (layout.Counters.Length > 0)
        {
            // rank 0's counters everywhere: the others contribute zeros
            var counters = layout.Counters.SelectMany(b => b.cpu().to(ScalarType.Int64).data<long>().ToArray()).ToArray();
            if (collective.Rank != 0) Array.Clear(counters);
            collective.AllReduceSum(counters);
            int at = 0;
            foreach (var b in layout.Counters)
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
        var buffer = new float[tensors.Sum(t => t.numel())];
        Flatten(tensors, pick, scale, buffer);
        return buffer;
    }

    private static void Flatten(IReadOnlyList<Tensor> tensors, Func<Tensor, Tensor> pick, double scale, Span<float> buffer)
    {
        int offset = 0;
        using var scope = NewDisposeScope();
        foreach (var t in tensors)
        {
            var values = pick(t).detach().to(ScalarType.Float32).cpu().contiguous();
            if (scale != 1) values = values * scale;
            values.data<float>().CopyTo(buffer.Slice(offset, (int)values.numel()));
            offset += (int)values.numel();
        }
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
