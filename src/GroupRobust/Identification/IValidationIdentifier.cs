using GroupRobust.Data;

namespace GroupRobust.Identification;

/// <summary>
/// An identifier that also assigns the validation split's samples to groups by the same rule (XRM's cross-mistakes), so
/// that a run can choose its epoch by worst-group accuracy on inferred validation groups and read no group label.
/// </summary>
internal interface IValidationIdentifier : IGroupIdentifier
{
    /// <summary>Assigns the training and the validation split's samples to groups.</summary>
    /// <param name="train">The training split.</param>
    /// <param name="validation">The validation split (only its class labels are read).</param>
    (GroupAssignment Train, GroupAssignment Validation) Identify(IGroupDataset train, IGroupDataset validation);
}
