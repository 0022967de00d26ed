using GroupRobust.Data;
using static TorchSharp.torch;

namespace GroupRobust.Study.Methods;

/// <summary>One training method of the study: its index order per epoch and its loss per batch.</summary>
internal interface IStudyMethod
{
    /// <summary>Row label in the tables, e.g. "JM1 (input)".</summary>
    string Name { get; }

    /// <summary>Whether the method uses group labels of the training set (validation labels are used by all, for model selection).</summary>
    bool UsesTrainGroups { get; }

    /// <summary>The sample indices of one epoch.</summary>
    IEnumerable<long> EpochIndices(int epoch);

    /// <summary>The loss of one batch (inside the caller's dispose scope).</summary>
    Tensor Loss(nn.Module<Tensor, Tensor> model, Batch batch, int epoch, int totalEpochs);

    /// <summary>Called after every epoch.</summary>
    void EndEpoch(int epoch) { }
}
