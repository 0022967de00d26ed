namespace GroupRobust.Text.Data;

/// <summary>How <see cref="CivilComments"/> turns the identity columns into groups.</summary>
public enum CivilCommentsGranularity
{
    /// <summary>
    /// Attribute 1 when the comment mentions any of the eight identities (the column is at least 0.5), else 0: 4 disjoint
    /// groups (toxicity x identity mentioned), the groups JTT and DFR train and select with. Every comment once.
    /// </summary>
    Coarse,

    /// <summary>
    /// Attribute i for identity i (male, female, LGBTQ, christian, muslim, other_religions, black, white): 16 groups, WILDS's
    /// evaluation groups. WILDS's groups overlap; as SubpopBench's "fine" version, a comment that mentions k identities
    /// appears k times (once per identity) and a comment that mentions none is left out.
    /// </summary>
    Fine,
}
