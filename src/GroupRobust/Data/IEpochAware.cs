namespace GroupRobust.Data;

/// <summary>
/// A dataset whose batches depend on the epoch (train-time augmentation): the training loop tells it the epoch before
/// iterating, so that its random draws are a function of the seed, the epoch and the sample, the same in a resumed run.
/// Call <see cref="SetEpoch"/> yourself in a hand-written loop.
/// </summary>
public interface IEpochAware
{
    /// <summary>Sets the epoch the following batches belong to (numbered from 1).</summary>
    void SetEpoch(int epoch);
}
