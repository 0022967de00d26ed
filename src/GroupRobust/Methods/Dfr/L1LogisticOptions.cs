namespace GroupRobust.Methods;

/// <summary>Options of <see cref="L1LogisticRegression"/> (the solver of DFR).</summary>
public sealed record L1LogisticOptions
{
    /// <summary>Largest number of proximal-gradient (FISTA) iterations, at least 1; default 3000.</summary>
    public int MaxIterations { get; init; } = 3000;

    /// <summary>
    /// Stop when no coefficient moved by more than Tolerance x max(1, largest |coefficient|) over one iteration, checked
    /// every 25 iterations (one host read each); &gt; 0, default 1e-5.
    /// </summary>
    public double Tolerance { get; init; } = 1e-5;

    /// <summary>Throws when an option is out of range.</summary>
    public void Validate()
    {
        if (MaxIterations < 1) throw new ArgumentOutOfRangeException(nameof(MaxIterations), MaxIterations, "At least one iteration.");
        if (!(Tolerance > 0 && double.IsFinite(Tolerance))) throw new ArgumentOutOfRangeException(nameof(Tolerance), Tolerance, "Must be a finite number > 0.");
    }
}
