using GroupRobust.Catalog;
using GroupRobust.Groups;
using GroupRobust.Training;
using static TorchSharp.torch;

namespace GroupRobust.Recipes;

/// <summary>What <see cref="LastLayerRecipe"/> did: the fit, the model it changed (owned only when the recipe trained it) and every group label it read.</summary>
public sealed class LastLayerRun : IDisposable
{
    private readonly bool _ownsModel;

    internal LastLayerRun(string name, nn.Module<Tensor, Tensor> model, bool ownsModel, LastLayerFit fit, TrainingHistory? baseHistory, LabelBudget budget)
    {
        Name = name;
        Model = model;
        _ownsModel = ownsModel;
        Fit = fit;
        BaseHistory = baseHistory;
        LabelBudget = budget;
    }

    /// <summary>The method's name, e.g. "DFR".</summary>
    public string Name { get; }

    /// <summary>The model with its new last layer.</summary>
    public nn.Module<Tensor, Tensor> Model { get; }

    /// <summary>The new last layer and what was chosen.</summary>
    public LastLayerFit Fit { get; }

    /// <summary>The base model's training history, when the recipe trained it.</summary>
    public TrainingHistory? BaseHistory { get; }

    /// <summary>Every group label the run read (the fit's, and the base model's training).</summary>
    public LabelBudget LabelBudget { get; }

    /// <summary>Disposes the model when the recipe trained it; a model the caller passed stays the caller's.</summary>
    public void Dispose()
    {
        if (_ownsModel) Model.Dispose();
    }
}
