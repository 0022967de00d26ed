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
}
