namespace GroupRobust.Methods;

/// <summary>LISA's two selective augmentations (Yao et al., ICML 2022), chosen per batch by <see cref="LisaMixer"/>.</summary>
internal enum LisaStrategy
{
    /// <summary>Intra-label: each sample is mixed with a sample of the same label from another domain (group value); the label is kept.</summary>
    IntraLabel,

    /// <summary>Intra-domain: each sample is mixed with a sample of the same domain and another label; the labels are mixed too.</summary>
    IntraDomain,
}
