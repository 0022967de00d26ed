using System.Runtime.InteropServices;
using GroupRobust.Methods;
using TorchSharp;
using static TorchSharp.torch;

namespace GroupRobust.Distributed;

/// <summary>
/// Checks that the replicas of a data-parallel job are identical: the model's parameters and buffers bit for bit, and
/// (optionally) the method's state (its generators and numbers, except the per-rank sample count of the epoch). Each
/// rank sends one fingerprint per tensor (a hash of its bytes), so the check costs one small all-reduce and one host
/// copy of the model. Run before a rank-0 checkpoint, after a load, or whenever a divergence is suspected.
/// </summary>
public static class ReplicaCheck
{
    /// <summary>Throws on every rank unless every rank holds the same model (and method state).</summary>
    /// <param name="model">This rank's replica.</param>
    /// <param name="collective">The job.</param>
    /// <param name="method">This rank's method, or null to check the model only.</param>
    /// <exception cref="InvalidOperationException">The replicas differ; the message names the first differing tensor (or the method state) and the ranks.</exception>
    public static void Verify(nn.Module model, ICollective collective, ITrainingMethod? method = null)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(collective);
        var entries = model.state_dict().OrderBy(kv => kv.Key, StringComparer.Ordinal).ToArray();
        var mine = new long[entries.Length + 2];
        mine[0] = entries.Length;
        for (int i = 0; i < entries.Length; i++) mine[i + 1] = Fingerprint(entries[i].Value);
        mine[^1] = method is null ? 0 : Fingerprint(method.GetState());
        // the tensor count first, so that ranks with different models do not exchange buffers of different lengths
        var counts = collective.AllGather([entries.Length]);
        for (int r = 1; r < counts.Length; r++)
            if (counts[r][0] != counts[0][0])
                throw new InvalidOperationException($"The replicas differ: rank 0's model has {counts[0][0]} parameters and buffers, rank {r}'s has {counts[r][0]}.");
        var all = collective.AllGather(mine);
        for (int i = 0; i < entries.Length; i++)
        {
            var differing = Enumerable.Range(1, all.Length - 1).Where(r => all[r][i + 1] != all[0][i + 1]).ToArray();
            if (differing.Length > 0)
                throw new InvalidOperationException($"The replicas differ: '{entries[i].Key}' on rank {string.Join(", ", differing)} is not rank 0's (rank {collective.Rank} checked {entries.Length} tensors). Were the parameters broadcast (GradientAveraging.BroadcastParameters) and every gradient averaged?");
        }
        var methods = Enumerable.Range(1, all.Length - 1).Where(r => all[r][^1] != all[0][^1]).ToArray();
        if (methods.Length > 0)
            throw new InvalidOperationException($"The replicas' method states differ: rank {string.Join(", ", methods)}'s is not rank 0's (generators or statistics). Does every rank build the method with the same seed and take part in every step?");
    }

    private static long Fingerprint(Tensor t)
    {
        using var scope = NewDisposeScope();
        var host = t.detach().cpu().contiguous();
        var bytes = host.bytes;
        long shape = Gathering.Fingerprint(MemoryMarshal.AsBytes(host.shape.AsSpan()));
        return Gathering.Fingerprint(bytes) ^ (shape * 31) ^ (long)host.dtype;
    }

    private static long Fingerprint(MethodState state)
    {
        using var stream = new MemoryStream();
        using (var w = new BinaryWriter(stream))
        {
            w.Write(state.Kind);
            foreach (var (name, seed) in state.Seeds.OrderBy(kv => kv.Key, StringComparer.Ordinal))
            {
                w.Write(name);
                w.Write(seed);
            }
            foreach (var (name, words) in state.Generators.OrderBy(kv => kv.Key, StringComparer.Ordinal))
            {
                w.Write(name);
                foreach (var word in words) w.Write(word);
            }
            foreach (var (name, values) in state.Values.OrderBy(kv => kv.Key, StringComparer.Ordinal))
            {
                w.Write(name);
                // "epoch" holds [epoch, total, in epoch, samples]: the sample count is this rank's rows
                var compared = name == "epoch" && values.Length == 4 ? values[..3] : values;
                foreach (var v in compared) w.Write(v);
            }
        }
        return Gathering.Fingerprint(stream.ToArray());
    }
}
