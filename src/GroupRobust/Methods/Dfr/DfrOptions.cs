namespace GroupRobust.Methods;

/// <summary>Options of <see cref="Dfr"/>; the defaults are DFR's reference (PolinaKirichenko/deep_feature_reweighting, dfr_evaluate_spurious.py).</summary>
public sealed record DfrOptions
{
    /// <summary>The grid of C (liblinear's inverse regularisation) searched on the held-out half; default [1, 0.7, 0.3, 0.1, 0.07, 0.03, 0.01]. Ties go to the first (largest) C.</summary>
    public IReadOnlyList<double> CGrid { get; init; } = [1.0, 0.7, 0.3, 0.1, 0.07, 0.03, 0.01];

    /// <summary>Group-balanced resamples whose models are averaged in the final fit, at least 1; default 20 (the validation variant; the reference's training variant uses 10).</summary>
    public int Retrains { get; init; } = 20;

    /// <summary>The solver's options.</summary>
    public L1LogisticOptions Solver { get; init; } = new();

    /// <summary>Throws when an option is out of range.</summary>
    public void Validate()
    {
        ArgumentNullException.ThrowIfNull(CGrid, nameof(CGrid));
        if (CGrid.Count == 0) throw new ArgumentException("The C grid is empty.", nameof(CGrid));
        foreach (var c in CGrid)
            if (!(c > 0 && double.IsFinite(c))) throw new ArgumentOutOfRangeException(nameof(CGrid), c, "Every C must be a finite number > 0.");
        if (Retrains < 1) throw new ArgumentOutOfRangeException(nameof(Retrains), Retrains, "At least one resample.");
        ArgumentNullException.ThrowIfNull(Solver, nameof(Solver));
        Solver.Validate();
    }

    /// <summary>Collections print as their items, not as "System.String[]" (the members of the compiler's <c>ToString</c>).</summary>
    private bool PrintMembers(System.Text.StringBuilder builder) => GroupRobust.Internal.RecordText.Print(this, builder);
}
