using GroupRobust.Mixing;
using GroupRobust.Sampling;

namespace GroupRobust.Methods;

/// <summary>
/// The epoch order of <see cref="PartnerSource.Paired"/>: anchors from the method's own order, each followed by a partner
/// drawn from its pool, so that a batch of an even number of rows holds whole pairs. The epoch keeps the own order's
/// length L: epoch 2k - 1 anchors the first ceil(L / 2) indices of the own order's epoch k, epoch 2k the last ceil(L / 2)
/// (the same permutation, so every index of it anchors once in two epochs), and the order is cut to L rows.
/// </summary>
/// <remarks>
/// A pure function of the seed and the epoch, as every sampler: the own order's epoch k is itself one, and the partners
/// come from the epoch's own generator. An anchor whose pool is empty (its class all on one side) is followed by a
/// uniformly drawn index of the own order's epoch, which the mixer then treats like any row.
/// </remarks>
internal sealed class PairedSampler : EpochSampler
{
    private readonly EpochSampler _anchors;
    private readonly Func<long, int[]> _poolOf;

    /// <param name="anchors">The method's own order (a shuffle, or JM1+'s upsampled epoch).</param>
    /// <param name="poolOf">The partner pool of a training index (<see cref="ClassConditionalMixer"/>'s policy).</param>
    /// <param name="seed">Seed of the partner draws.</param>
    public PairedSampler(EpochSampler anchors, Func<long, int[]> poolOf, long seed) : base(seed)
    {
        _anchors = anchors;
        _poolOf = poolOf;
    }

    /// <inheritdoc />
    public override long EpochLength => _anchors.EpochLength;

    /// <inheritdoc />
    protected override long[] Generate(int epoch, Random rng)
    {
        var own = _anchors.IndicesForEpoch((epoch + 1) / 2);
        int length = own.Length, half = (length + 1) / 2;
        int start = epoch % 2 == 1 ? 0 : length - half;
        var order = new long[length];
        for (int i = 0, row = 0; i < half && row < length; i++)
        {
            long anchor = own[start + i];
            order[row++] = anchor;
            if (row == length) break;
            var pool = _poolOf(anchor);
            order[row++] = pool.Length > 0 ? pool[rng.Next(pool.Length)] : own[rng.Next(length)];
        }
        return order;
    }
}
