using static TorchSharp.torch;

namespace GroupRobust.Methods;

/// <summary>
/// A loss over per-sample losses and the samples' groups that carries state from batch to batch, such as GroupDRO's
/// online robust loss (<c>GroupDroLoss</c>): what a method that can train with plain cross entropy or a robust loss
/// (GroupJM1) takes as its robust loss. The method owns it (disposes it) and its state is part of the method's.
/// </summary>
public interface IGroupLoss : IResumable, IDisposable
{
    /// <summary>A short name for tables, e.g. "GroupDRO".</summary>
    string Name { get; }

    /// <summary>The number of groups G the loss weighs (group ids in [0, G)); a method checks it against its groups.</summary>
    int NumGroups { get; }

    /// <summary>The loss of one batch (a scalar to backpropagate); with <paramref name="update"/>, advances the state first.</summary>
    /// <param name="perSampleLosses">Losses [B] with reduction none.</param>
    /// <param name="groups">Group ids [B], integral, on the same device.</param>
    /// <param name="update">False computes the loss with the current state and leaves it unchanged (a repeated evaluation, validation).</param>
    Tensor Loss(Tensor perSampleLosses, Tensor groups, bool update = true);

    /// <summary>The current group weights, as host values (for the epoch summary); reading them synchronises with the device.</summary>
    IReadOnlyList<double> Weights();
}
