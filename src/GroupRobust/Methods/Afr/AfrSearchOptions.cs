namespace GroupRobust.Methods;

/// <summary>The grid and schedule of <see cref="AfrSearch"/>; the defaults are the AFR reference's Waterbirds settings (AndPotap/afr notebooks).</summary>
public sealed record AfrSearchOptions
{
    /// <summary>The gamma grid, each a finite number &gt;= 0 (default linspace(4, 20, 33), the Waterbirds grid).</summary>
    public IReadOnlyList<double> Gammas { get; init; } = Enumerable.Range(0, 33).Select(i => 4 + i * 0.5).ToArray();

    /// <summary>The lambda grid, each a finite number &gt;= 0 (default 0, 0.1, 0.2, 0.3).</summary>
    public IReadOnlyList<double> Lambdas { get; init; } = [0, 0.1, 0.2, 0.3];

    /// <summary>Full-batch steps per configuration, at least 1 (default 500).</summary>
    public int Steps { get; init; } = 500;

    /// <summary>SGD learning rate, a finite number &gt; 0 (default 1e-2).</summary>
    public double LearningRate { get; init; } = 1e-2;

    /// <summary>The gradient-norm clip of every step (default 1, the reference's); a finite number &gt; 0.</summary>
    public double MaxGradientNorm { get; init; } = 1.0;

    /// <summary>Throws when an option is out of range (the parameter name is the option's).</summary>
    public void Validate()
    {
        if (Gammas is not { Count: > 0 }) throw new ArgumentException("The gamma grid must not be empty.", nameof(Gammas));
        if (Lambdas is not { Count: > 0 }) throw new ArgumentException("The lambda grid must not be empty.", nameof(Lambdas));
        // every grid value up front, before the first configuration trains
        for (int i = 0; i < Gammas.Count; i++)
            if (!(Gammas[i] >= 0 && double.IsFinite(Gammas[i]))) throw new ArgumentOutOfRangeException(nameof(Gammas), Gammas[i], $"Gammas[{i}] is {Gammas[i]}; each gamma must be a finite number >= 0.");
        for (int i = 0; i < Lambdas.Count; i++)
            if (!(Lambdas[i] >= 0 && double.IsFinite(Lambdas[i]))) throw new ArgumentOutOfRangeException(nameof(Lambdas), Lambdas[i], $"Lambdas[{i}] is {Lambdas[i]}; each lambda must be a finite number >= 0.");
        if (Steps < 1) throw new ArgumentOutOfRangeException(nameof(Steps), Steps, "At least one step.");
        if (!(LearningRate > 0 && double.IsFinite(LearningRate))) throw new ArgumentOutOfRangeException(nameof(LearningRate), LearningRate, "Must be a finite number > 0.");
        if (!(MaxGradientNorm > 0 && double.IsFinite(MaxGradientNorm))) throw new ArgumentOutOfRangeException(nameof(MaxGradientNorm), MaxGradientNorm, "Must be a finite number > 0.");
    }

    /// <summary>Collections print as their items, not as "System.String[]" (the members of the compiler's <c>ToString</c>).</summary>
    private bool PrintMembers(System.Text.StringBuilder builder) => GroupRobust.Internal.RecordText.Print(this, builder);
}
