using GroupRobust.Groups;
using GroupRobust.Training;
using static TorchSharp.torch;

namespace GroupRobust.Recipes;

/// <summary>One trained run of a recipe: the model (at its selected epoch), its history and every group label the run read. Owns the model.</summary>
public sealed class RecipeRun : IDisposable
{
    internal RecipeRun(string name, nn.Module<Tensor, Tensor> model, TrainingHistory history, LabelBudget budget, int? identificationEpoch, object? methodOptions = null,
        string? identifier = null)
    {
        Identifier = identifier;
        MethodOptions = methodOptions;
        Name = name;
        Model = model;
        History = history;
        LabelBudget = budget;
        IdentificationEpoch = identificationEpoch;
    }

    /// <summary>The run's name, e.g. "JM1 (input)".</summary>
    public string Name { get; }

    /// <summary>The trained model, at the selected epoch (owned by the run: dispose the run, or take it with <see cref="TakeModel"/>).</summary>
    public nn.Module<Tensor, Tensor> Model { get; private set; }

    /// <summary>Every epoch's report and the selected epoch.</summary>
    public TrainingHistory History { get; }

    /// <summary>Every group label the run read: the method's training, its groups' identification (the rule that chose T, an oracle's annotations) and its selection rule.</summary>
    public LabelBudget LabelBudget { get; }

    /// <summary>The identification epoch T of the groups the run trained on, when they came from a phase-I model.</summary>
    public int? IdentificationEpoch { get; }

    /// <summary>
    /// The identifier whose groups the run trained on (<see cref="IdentifiedGroups.Identifier"/>, e.g. "ERM misclassified";
    /// after <c>TwoPhaseRecipe.TrainOnBestGroups</c>, the chosen one); null for a method that takes no groups.
    /// </summary>
    public string? Identifier { get; }

    /// <summary>The method options the run trained with (after <c>TwoPhaseRecipe.TrainGrid</c>, the chosen ones); null for the method's defaults.</summary>
    public object? MethodOptions { get; }

    /// <summary>This run with another budget (the model moves to the new run).</summary>
    internal RecipeRun WithBudget(LabelBudget budget) => new(Name, TakeModel(), History, budget, IdentificationEpoch, MethodOptions, Identifier);

    /// <summary>Hands the model to the caller, who then disposes it; the run no longer does.</summary>
    public nn.Module<Tensor, Tensor> TakeModel()
    {
        var model = Model ?? throw new ObjectDisposedException(nameof(RecipeRun));
        Model = null!;
        return model;
    }

    /// <summary>Disposes the model unless it was taken.</summary>
    public void Dispose()
    {
        Model?.Dispose();
        Model = null!;
    }
}
