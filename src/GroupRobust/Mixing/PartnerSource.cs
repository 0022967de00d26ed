namespace GroupRobust.Mixing;

/// <summary>
/// Which samples <see cref="ClassConditionalMixer"/> draws partners among: the whole training set (JM1 as published) or,
/// when the batch itself holds an eligible partner, the batch's own rows (Manifold Mixup's trick of mixing within the
/// batch, so that hidden-layer mixing needs no second pass). docs/performance.md measures both, cost and worst-group
/// accuracy.
/// </summary>
public enum PartnerSource
{
    /// <summary>
    /// JM1 as published (the default): each partner is drawn uniformly from the sample's whole pool in the training set
    /// (for JM1, the other side of its class); the partners are fetched and, for hidden-layer mixing, run through the
    /// network up to the mixing layer in a second pass of B rows.
    /// </summary>
    Dataset,

    /// <summary>
    /// Each partner is drawn uniformly among the batch's other rows that are in the sample's pool (same policy; the row
    /// itself only where the training-set fallback draws it, as <see cref="Dataset"/> can); only rows whose pool has no
    /// other member in the batch fall back to a draw from the training set. Over random batches every pool member is
    /// equally likely to be a partner, as with <see cref="Dataset"/>, but partners within one batch repeat (a batch of 64
    /// holds about 1.6 error-set samples per class when the error set is 5%), and a hidden-layer mix runs one pass over
    /// the batch and its few fallback partners instead of a second pass: the partners' representations are rows of that
    /// pass, with gradients through both.
    /// </summary>
    Batch,

    /// <summary>
    /// Paired batches: the epoch order places each anchor next to a partner drawn from the training set by the policy
    /// (for JM1, uniformly from the other side of its class), and every row of the batch, anchor or partner, is then mixed
    /// with a row of the batch drawn as in <see cref="Batch"/>. A batch of B rows thus holds about B / 2 members of the
    /// small side instead of the 5% a random batch holds, so in-batch draws reach as many distinct partners as the
    /// training set's draw does, while a hidden-layer mix still runs one pass over the batch. An epoch keeps the length of
    /// the method's own order: its anchors are half of that order (odd epochs the first half, even epochs the second half
    /// of the same permutation, so every sample anchors once in two epochs) and the other half of its rows are their
    /// partners. Every mix pairs a sample with a partner of its pool, as with <see cref="Dataset"/>; what differs is the
    /// rows a step sees (a small-side sample is a row each time it is drawn as a partner) and that draws within a batch
    /// are not independent. Only <c>Methods.Jm1Method</c> builds this order; given to
    /// <see cref="ClassConditionalMixer.DrawPartners(System.ReadOnlySpan{long}, PartnerSource)"/> it draws as
    /// <see cref="Batch"/>. docs/performance.md measures its cost and its worst-group accuracy against the other two.
    /// </summary>
    Paired,
}
