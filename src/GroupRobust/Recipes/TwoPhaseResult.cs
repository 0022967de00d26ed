using GroupRobust.Groups;
using GroupRobust.Training;
using static TorchSharp.torch;

namespace GroupRobust.Recipes;

/// <summary>What <see cref="TwoPhaseRecipe.Run"/> returns: phase I, the identified groups, and the trained method. Owns the models.</summary>
public sealed class TwoPhaseResult : IDisposable
{
    internal TwoPhaseResult(PhaseOne? phaseOne, IdentifiedGroups? groups, RecipeRun run)
    {
        PhaseOne = phaseOne;
        Groups = groups;
        Run = run;
    }

    /// <summary>Phase I (its ERM run and the candidate weights); null when the identifier needed none.</summary>
    public PhaseOne? PhaseOne { get; }

    /// <summary>The groups phase II trained on, with the chosen T; null for a method that takes no groups.</summary>
    public IdentifiedGroups? Groups { get; }

    /// <summary>The phase-II run.</summary>
    public RecipeRun Run { get; }

    /// <summary>The trained model, at the epoch validation selected.</summary>
    public nn.Module<Tensor, Tensor> Model => Run.Model;

    /// <summary>Phase II's history.</summary>
    public TrainingHistory History => Run.History;

    /// <summary>Every group label the whole recipe read (identification, training, selection).</summary>
    public LabelBudget LabelBudget => Run.LabelBudget;

    /// <summary>Frees the models.</summary>
    public void Dispose()
    {
        Run.Dispose();
        PhaseOne?.Dispose();
    }
}
