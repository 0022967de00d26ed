namespace GroupRobust.Methods;

/// <summary>
/// Options of <see cref="GroupDroLoss"/>, named and defaulted as in the GroupDRO reference (Sagawa et al., 2020,
/// <c>LossComputer</c>).
/// </summary>
public sealed record GroupDroOptions
{
    /// <summary>Exponentiated-gradient step size eta (<c>robust_step_size</c>, default 0.01); finite and &gt;= 0.</summary>
    public double StepSize { get; init; } = 0.01;

    /// <summary>
    /// Generalization adjustment C: one value for all groups, or <see cref="GeneralizationAdjustments"/> per group
    /// (default 0: off). When every group's C is &gt; 0, C_g / sqrt(N_g) is added to the group losses that drive q.
    /// </summary>
    public double GeneralizationAdjustment { get; init; }

    /// <summary>Per-group adjustments C_g (length G), overriding <see cref="GeneralizationAdjustment"/>; null by default.</summary>
    public IReadOnlyList<double>? GeneralizationAdjustments { get; init; }

    /// <summary>Divide the (adjusted) group losses by their sum before the q update (<c>normalize_loss</c>, default false).</summary>
    public bool NormalizeLoss { get; init; }

    /// <summary>EMA rate gamma of the per-group losses (default 0.1), in (0, 1].</summary>
    public double Gamma { get; init; } = 0.1;

    /// <summary>Use the greedy bottom-k (btl / CVaR over groups) weights instead of q (default false).</summary>
    public bool Btl { get; init; }

    /// <summary>Group-mass level alpha of btl (default 0.2), in (0, 1).</summary>
    public double BtlAlpha { get; init; } = 0.2;

    /// <summary>min_var_weight m of btl: w = m f + (1 - m) w (default 0), in [0, 1].</summary>
    public double MinVarWeight { get; init; }

    /// <summary>
    /// Return the reference's value sum_g q_g (L_g + C_g / sqrt(N_g)) instead of sum_g q_g L_g when the adjustment is on
    /// (the reference adds it in place). The gradient is the same either way; default false (the clean value).
    /// </summary>
    public bool ReferenceLossValue { get; init; }

    /// <summary>Throws when an option is out of range.</summary>
    public void Validate(int groups)
    {
        if (!(StepSize >= 0) || double.IsInfinity(StepSize)) throw new ArgumentOutOfRangeException(nameof(StepSize), StepSize, "The step size must be a finite number >= 0.");
        if (!(GeneralizationAdjustment >= 0) || double.IsInfinity(GeneralizationAdjustment)) throw new ArgumentOutOfRangeException(nameof(GeneralizationAdjustment), GeneralizationAdjustment, "Must be a finite number >= 0.");
        if (GeneralizationAdjustments is not null)
        {
            if (GeneralizationAdjustments.Count != groups)
                throw new ArgumentException($"Expected {groups} per-group adjustments, got {GeneralizationAdjustments.Count}.", nameof(GeneralizationAdjustments));
            for (int g = 0; g < groups; g++)
                if (!(GeneralizationAdjustments[g] >= 0) || double.IsInfinity(GeneralizationAdjustments[g]))
                    throw new ArgumentOutOfRangeException(nameof(GeneralizationAdjustments), GeneralizationAdjustments[g], $"Adjustment of group {g} must be a finite number >= 0.");
        }
        if (!(Gamma > 0 && Gamma <= 1)) throw new ArgumentOutOfRangeException(nameof(Gamma), Gamma, "Must be in (0, 1].");
        if (!(BtlAlpha > 0 && BtlAlpha < 1)) throw new ArgumentOutOfRangeException(nameof(BtlAlpha), BtlAlpha, "Must be in (0, 1).");
        if (!(MinVarWeight >= 0 && MinVarWeight <= 1)) throw new ArgumentOutOfRangeException(nameof(MinVarWeight), MinVarWeight, "Must be in [0, 1].");
    }

    /// <summary>The adjustment of every group (length <paramref name="groups"/>).</summary>
    public double[] AdjustmentsFor(int groups)
        => GeneralizationAdjustments?.ToArray() ?? Enumerable.Repeat(GeneralizationAdjustment, groups).ToArray();

    /// <summary>Collections print as their items, not as "System.String[]" (the members of the compiler's <c>ToString</c>).</summary>
    private bool PrintMembers(System.Text.StringBuilder builder) => GroupRobust.Internal.RecordText.Print(this, builder);
}
