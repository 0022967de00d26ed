namespace GroupRobust.Methods;

/// <summary>How <see cref="Crt"/> balances the training data while it retrains the last layer (SubpopBench's CRT, ReWeightCRT and VanillaCRT).</summary>
public enum CrtBalancing
{
    /// <summary>Group-balanced epochs: every training group drawn equally often (SubpopBench's CRT; reads training group labels).</summary>
    GroupBalancedSampling,

    /// <summary>Shuffled epochs, each sample's loss weighted by 1 / n_g of its group (SubpopBench's ReWeightCRT; reads training group labels).</summary>
    GroupReweighting,

    /// <summary>Shuffled epochs, no balancing (SubpopBench's VanillaCRT; reads no training group label).</summary>
    None,
}
