namespace GroupRobust.Identification;

/// <summary>Options of <see cref="XrmIdentifier"/> (the XRM reference, facebookresearch/XRM, trains for a fixed number of steps; Waterbirds 5,001, CelebA 10,001).</summary>
public sealed record XrmOptions
{
    /// <summary>Training steps of the twins, at least 1; default 2,000.</summary>
    public int Steps { get; init; } = 2000;

    /// <summary>Batch size, at least 2; default 64.</summary>
    public int BatchSize { get; init; } = 64;

    /// <summary>Record the flip rate every this many steps (one host read each), at least 1; default 50 (the reference's report frequency on Waterbirds).</summary>
    public int ReportEvery { get; init; } = 50;

    /// <summary>
    /// How many times at most a degenerate run (some class entirely in one environment, in training or validation) is
    /// discarded and fresh twins are trained, at least 0; default 2. The reference discards such runs; the first run
    /// that is not degenerate is kept, else the last, with <see cref="XrmResult.Degenerate"/> set. Restart r draws its
    /// halves, order and flips from the seed source's child "xrm-restart-r" and two new twins from the factory.
    /// </summary>
    public int Restarts { get; init; } = 2;

    /// <summary>Batch size and device of the read-out passes.</summary>
    public IdentificationOptions Pass { get; init; } = new();

    /// <summary>Throws when an option is out of range.</summary>
    public void Validate()
    {
        if (Steps < 1) throw new ArgumentOutOfRangeException(nameof(Steps), Steps, "At least one step.");
        if (BatchSize < 2) throw new ArgumentOutOfRangeException(nameof(BatchSize), BatchSize, "At least 2.");
        if (ReportEvery < 1) throw new ArgumentOutOfRangeException(nameof(ReportEvery), ReportEvery, "At least 1.");
        if (Restarts < 0) throw new ArgumentOutOfRangeException(nameof(Restarts), Restarts, "At least 0 (0: keep the first run, degenerate or not).");
        ArgumentNullException.ThrowIfNull(Pass, nameof(Pass));
        Pass.Validate();
    }
}
