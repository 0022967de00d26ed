namespace GroupRobust.Training;

/// <summary>Reports every epoch to several reporters in order (for example a <see cref="ConsoleProgress"/> and a <see cref="TensorBoardProgress"/>), for the one <c>progress</c> argument of <see cref="TrainingLoop"/>.</summary>
public sealed class CombinedProgress : IProgress<EpochReport>
{
    private readonly IProgress<EpochReport>[] _reporters;

    /// <summary>Creates the reporter.</summary>
    /// <param name="reporters">The reporters, called in this order.</param>
    /// <exception cref="ArgumentException">A reporter is null.</exception>
    public CombinedProgress(params IProgress<EpochReport>[] reporters)
    {
        ArgumentNullException.ThrowIfNull(reporters);
        for (int i = 0; i < reporters.Length; i++)
            if (reporters[i] is null) throw new ArgumentException($"Reporter {i} is null.", nameof(reporters));
        _reporters = reporters.ToArray();
    }

    /// <summary>Reports <paramref name="value"/> to every reporter.</summary>
    /// <param name="value">The epoch's report.</param>
    public void Report(EpochReport value)
    {
        foreach (var r in _reporters) r.Report(value);
    }
}
