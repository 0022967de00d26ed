using GroupRobust.Internal;
using Microsoft.Extensions.Logging;

namespace GroupRobust.Mixing;

/// <summary>The running per-epoch counts every mixer keeps: mixed and unmixed samples per class and the alpha draws.</summary>
internal sealed class MixingTally(int classes) : IResumable
{
    private readonly long[] _mixed = new long[classes];
    private readonly long[] _unmixed = new long[classes];
    private long _alphaCount;
    private double _alphaSum, _alphaSumSq, _alphaMin = double.PositiveInfinity, _alphaMax = double.NegativeInfinity;

    /// <summary>
    /// The epoch the counts belong to (numbered from 1; advanced by <see cref="EndEpoch"/>, or set by the method that owns
    /// the mixer, so the statistics carry the method's epoch).
    /// </summary>
    public int Epoch { get; set; } = 1;

    public void Mixed(int label) => _mixed[label]++;

    public void Unmixed(int label) => _unmixed[label]++;

    public void Alpha(double a)
    {
        _alphaCount++;
        _alphaSum += a;
        _alphaSumSq += a * a;
        _alphaMin = Math.Min(_alphaMin, a);
        _alphaMax = Math.Max(_alphaMax, a);
    }

    public MixingStatistics Statistics => new()
    {
        Epoch = Epoch,
        MixedPerClass = _mixed.ToArray(),
        UnmixedPerClass = _unmixed.ToArray(),
        AlphaDraws = _alphaCount,
        AlphaMean = _alphaCount == 0 ? double.NaN : _alphaSum / _alphaCount,
        AlphaStandardDeviation = _alphaCount == 0 ? double.NaN : Math.Sqrt(Math.Max(0, _alphaSumSq / _alphaCount - Math.Pow(_alphaSum / _alphaCount, 2))),
        AlphaMin = _alphaCount == 0 ? double.NaN : _alphaMin,
        AlphaMax = _alphaCount == 0 ? double.NaN : _alphaMax,
    };

    /// <summary>True when nothing was counted since the epoch began (no batch drew partners or an alpha).</summary>
    public bool IsEmpty => _alphaCount == 0 && _mixed.All(v => v == 0) && _unmixed.All(v => v == 0);

    /// <summary>
    /// The guard of a caller-driven <c>EndEpoch()</c>: closing an epoch in which no batch was drawn is a second call for
    /// the same epoch (or a call before any batch), which would silently advance the epoch number.
    /// </summary>
    /// <exception cref="InvalidOperationException">Nothing was counted since the last <c>EndEpoch</c>.</exception>
    public void EnsureDrawn(string mixer)
    {
        if (IsEmpty)
            throw new InvalidOperationException($"{mixer}.EndEpoch: epoch {Epoch} has no draws (EndEpoch was called twice, or before any batch); " +
                $"the epoch stays {Epoch}. Call it once per epoch, after the epoch's batches.");
    }

    /// <summary>Logs the epoch's summary (and a warning if samples went unmixed), returns its statistics and starts the next epoch.</summary>
    public MixingStatistics EndEpoch(ILogger logger)
    {
        var stats = Statistics;
        if (stats.Unmixed > 0)
            Log.UnmixedSamples(logger, stats.Epoch, stats.Unmixed, stats.Mixed + stats.Unmixed,
                string.Join(", ", stats.UnmixedPerClass.Select((u, c) => $"{c}: {u}")));
        Log.MixingEpochSummary(logger, stats.Epoch, stats.Mixed, stats.Unmixed, stats.AlphaMean, stats.AlphaMin, stats.AlphaMax, stats.AlphaDraws);
        Array.Clear(_mixed);
        Array.Clear(_unmixed);
        _alphaCount = 0;
        _alphaSum = _alphaSumSq = 0;
        _alphaMin = double.PositiveInfinity;
        _alphaMax = double.NegativeInfinity;
        Epoch++;
        return stats;
    }

    /// <summary>The counts as numbers, for method checkpoints.</summary>
    public double[] State()
        => [Epoch, _alphaCount, _alphaSum, _alphaSumSq, _alphaMin, _alphaMax, .. _mixed.Select(v => (double)v), .. _unmixed.Select(v => (double)v)];

    /// <summary>The length of <see cref="State"/>.</summary>
    public int StateLength => 6 + 2 * _mixed.Length;

    /// <inheritdoc />
    public void WriteState(IDictionary<string, double[]> values, string prefix) => values[prefix + "statistics"] = State();

    /// <inheritdoc />
    public Action ReadState(IReadOnlyDictionary<string, double[]> values, string prefix)
    {
        var state = StateEntries.Get(values, prefix + "statistics", StateLength, "this mixer");
        return () => Restore(state);
    }

    /// <summary>Restores what <see cref="State"/> returned.</summary>
    /// <exception cref="ArgumentException">The numbers do not fit this tally's class count.</exception>
    public void Restore(double[] state)
    {
        int c = _mixed.Length;
        if (state.Length != StateLength)
            throw new ArgumentException($"Mixer statistics have {state.Length} numbers; this mixer ({c} classes) needs {StateLength}.", nameof(state));
        Epoch = (int)state[0];
        _alphaCount = (long)state[1];
        (_alphaSum, _alphaSumSq, _alphaMin, _alphaMax) = (state[2], state[3], state[4], state[5]);
        for (int i = 0; i < c; i++)
        {
            _mixed[i] = (long)state[6 + i];
            _unmixed[i] = (long)state[6 + c + i];
        }
    }
}
