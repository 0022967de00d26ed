using System.Globalization;
using GroupRobust.Mixing;

namespace GroupRobust.Methods;

/// <summary>What a method did over one epoch.</summary>
public sealed record MethodEpochSummary
{
    /// <summary>The epoch (numbered from 1).</summary>
    public required int Epoch { get; init; }

    /// <summary>Samples the method computed losses for (batch rows).</summary>
    public required long Samples { get; init; }

    /// <summary>The mixer's statistics, for mixing methods; null otherwise.</summary>
    public MixingStatistics? Mixing { get; init; }

    /// <summary>GroupDRO's group weights q (or btl's weights) at the end of the epoch, for GroupDRO losses; null otherwise.</summary>
    public IReadOnlyList<double>? GroupWeights { get; init; }

    /// <inheritdoc />
    public override string ToString() => string.Create(CultureInfo.InvariantCulture,
        $"epoch {Epoch}: {Samples} samples{(Mixing is null ? "" : $"; {Mixing.Mixed} mixed, {Mixing.Unmixed} unmixed, alpha mean {Mixing.AlphaMean:F3}")}" +
        $"{(GroupWeights is null ? "" : "; q = [" + string.Join(", ", GroupWeights.Select(w => w.ToString("F3", CultureInfo.InvariantCulture))) + "]")}");
}
