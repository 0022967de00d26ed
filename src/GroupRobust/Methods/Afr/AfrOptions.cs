namespace GroupRobust.Methods;

/// <summary>Options of one AFR configuration (<see cref="AfrMethod"/>); the reference is AndPotap/afr (losses/__init__.py, train_embeddings.py).</summary>
public sealed record AfrOptions
{
    /// <summary>gamma in w_i proportional to exp(-gamma p_i), &gt;= 0; default 10 (the reference README's Waterbirds run; the reference CLI's default is 0, uniform weights).</summary>
    public double Gamma { get; init; } = 10;

    /// <summary>lambda of the pull lambda (||W - W0||^2 + ||b - b0||^2) towards the initial last layer, &gt;= 0 (default 0).</summary>
    public double Lambda { get; init; }

    /// <summary>Multiply each class's weights by N / N_c before normalising (the reference's rebalance_weights, default true).</summary>
    public bool RebalanceClasses { get; init; } = true;

    /// <summary>Throws when an option is out of range.</summary>
    public void Validate()
    {
        if (!(Gamma >= 0 && double.IsFinite(Gamma))) throw new ArgumentOutOfRangeException(nameof(Gamma), Gamma, "gamma must be a finite number >= 0.");
        if (!(Lambda >= 0 && double.IsFinite(Lambda))) throw new ArgumentOutOfRangeException(nameof(Lambda), Lambda, "lambda must be a finite number >= 0.");
    }
}
