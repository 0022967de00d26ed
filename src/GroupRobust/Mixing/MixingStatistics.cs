using System.Globalization;

namespace GroupRobust.Mixing;

/// <summary>What a mixer did over one epoch: mixed and unmixed samples per class and the alpha draws.</summary>
public sealed record MixingStatistics
{
    /// <summary>The epoch the statistics belong to.</summary>
    public required int Epoch { get; init; }

    /// <summary>Mixed samples per class.</summary>
    public required IReadOnlyList<long> MixedPerClass { get; init; }

    /// <summary>Samples per class left unmixed because no eligible partner existed.</summary>
    public required IReadOnlyList<long> UnmixedPerClass { get; init; }

    /// <summary>Number of alpha values used.</summary>
    public required long AlphaDraws { get; init; }

    /// <summary>Mean alpha; NaN before any draw.</summary>
    public required double AlphaMean { get; init; }

    /// <summary>Population standard deviation of alpha; NaN before any draw.</summary>
    public required double AlphaStandardDeviation { get; init; }

    /// <summary>Smallest alpha; NaN before any draw.</summary>
    public required double AlphaMin { get; init; }

    /// <summary>Largest alpha; NaN before any draw.</summary>
    public required double AlphaMax { get; init; }

    /// <summary>Total mixed samples.</summary>
    public long Mixed => MixedPerClass.Sum();

    /// <summary>Total unmixed samples.</summary>
    public long Unmixed => UnmixedPerClass.Sum();

    /// <inheritdoc />
    public override string ToString() => string.Create(CultureInfo.InvariantCulture,
        $"epoch {Epoch}: {Mixed} mixed, {Unmixed} unmixed, alpha mean {AlphaMean:F3} over {AlphaDraws} draws");
}
