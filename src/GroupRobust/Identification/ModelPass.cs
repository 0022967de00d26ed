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
    public static (bool[] Wrong, float[] Loss) Run(nn.Module<Tensor, Tensor> model, IGroupDataset dataset, IdentificationOptions options, bool needLoss, PassShare? share = null)
    {
        var stats = Statistics(model, dataset, options, needLoss ? 2 : 1, share, (logits, labels) => needLoss
            ? [logits.argmax(1).ne(labels).to(ScalarType.Float64), nn.functional.cross_entropy(logits, labels, reduction: nn.Reduction.None)]
            : [logits.argmax(1).ne(labels).to(ScalarType.Float64)]);
        return (stats[0].Select(v => v != 0).ToArray(), needLoss ? stats[1].Select(v => (float)v).ToArray() : []);
    }

    /// <summary>
    /// Per-sample statistics: <paramref name="perBatch"/> maps a batch's logits [B, C] and labels [B] (on the logits'
    /// device) to <paramref name="count"/> tensors [B]; returns that many host arrays of N values (float64; each statistic
    /// is accumulated in float64). With <paramref name="share"/> (data-parallel identification) the pass covers the
    /// share's rows only and the arrays are summed over the job: every row is computed by one process, so the totals
    /// are exactly the one-process pass's.
    /// </summary>
    public static double[][] Statistics(nn.Module<Tensor, Tensor> model, IGroupDataset dataset, IdentificationOptions options, int count,
        PassShare? share, Func<Tensor, Tensor, Tensor[]> perBatch)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(dataset);
        options.Validate();
        int classes = dataset.Scheme.NumClasses, n = dataset.Count;
        using var modes = TrainingModes.Evaluating(model);
        Tensor[]? buffers = null;
        try
        {
            using var noGrad = torch.no_grad();
            var rows = share?.Rows(options.BatchSize);
            if (share is not null) CheckSameSize(share, n);
            var batches = rows is null ? dataset.Batches(options.BatchSize) : Fetch(dataset, rows, options.BatchSize);
            foreach (var batch in batches)
            {
                using var scope = NewDisposeScope();
                var device = options.Device ?? batch.Inputs.device;
                var logits = model.call(batch.Inputs.to(device));
                Guard.ModelLogits(logits, classes, nameof(model));
                var labels = batch.Labels.to(logits.device);
                var values = perBatch(logits, labels);
                if (values.Length != count) throw new InvalidOperationException($"The pass computes {values.Length} statistics, expected {count}.");
                buffers ??= values.Select(_ => torch.zeros(n, ScalarType.Float64, logits.device).DetachFromDisposeScope()).ToArray();
                var index = HostUpload.Int64(batch.Indices, logits.device);
                for (int k = 0; k < values.Length; k++) buffers[k].scatter_(0, index, values[k].to(ScalarType.Float64));
            }
            double[][] host;
            using (var s = NewDisposeScope())
                host = buffers is null ? Enumerable.Range(0, count).Select(_ => new double[n]).ToArray() : buffers.Select(b => b.cpu().data<double>().ToArray()).ToArray();
            return rows is null ? host : Merge(host, rows, share!, n);
        }
        finally
        {
            if (buffers is not null)
                foreach (var b in buffers) b.Dispose();
        }
    }

    /// <summary>One number over the job before the N-long exchange: every process must pass a dataset of the same size.</summary>
    private static void CheckSameSize(PassShare share, int n)
    {
        var total = new double[] { n };
        share.AllReduceSum(total);
        if (total[0] != (double)n * share.Size)
            throw new InvalidOperationException($"The processes identify datasets of different sizes (this one has {n} rows; the job's sum is {total[0]} over {share.Size} processes); every process must pass the same training split.");
    }

    private static IEnumerable<Batch> Fetch(IGroupDataset dataset, IReadOnlyList<long> rows, int batchSize)
    {
        foreach (var chunk in rows.Chunk(batchSize))
        {
            using var batch = dataset.GetBatch(chunk);
            yield return batch;
        }
    }

    /// <summary>One sum over the job of every statistic plus a coverage count per row, which must come back as exactly 1.</summary>
    private static double[][] Merge(double[][] local, IReadOnlyList<long> rows, PassShare share, int n)
    {
        var buffer = new double[(local.Length + 1) * n];
        for (int k = 0; k < local.Length; k++) local[k].CopyTo(buffer, k * n);
        foreach (var row in rows) buffer[local.Length * n + row] += 1;
        share.AllReduceSum(buffer);
        for (int i = 0; i < n; i++)
            if (buffer[local.Length * n + i] != 1)
                throw new InvalidOperationException($"Row {i} was identified by {buffer[local.Length * n + i]} processes; every row must be passed by exactly one.");
        return Enumerable.Range(0, local.Length).Select(k => buffer.AsSpan(k * n, n).ToArray()).ToArray();
    }
}

/// <summary>A process's share of a data-parallel identification pass: its rows and the job's float64 all-reduce (sum).</summary>
/// <param name="Rows">This process's rows for a pass at a given batch size (whole batches of the one-process pass).</param>
/// <param name="Size">The number of processes.</param>
/// <param name="AllReduceSum">Sums a buffer over the job in place.</param>
internal sealed record PassShare(Func<int, IReadOnlyList<long>> Rows, int Size, Action<double[]> AllReduceSum);

/// <summary>An identifier whose model pass can be split among processes and merged into the one-process assignment.</summary>
internal interface IShardableIdentifier
{
    /// <summary>Identifies with the pass restricted to <paramref name="share"/>'s rows and merged over the job.</summary>
    GroupAssignment Identify(IGroupDataset dataset, PassShare share);
}
