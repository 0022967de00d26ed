using GroupRobust.Evaluation;
using GroupRobust.Groups;
using GroupRobust.Recipes;

namespace GroupRobust.Study;

/// <summary>The outcome of training one method with one seed.</summary>
public sealed record MethodResult
{
    public required string Method { get; init; }
    /// <summary>The row's <c>--methods</c> spec ("erm", "jtt@gce-biased:grid"); null for the no-labels section's runs.</summary>
    public string? Spec { get; init; }
    /// <summary>For a row whose run differs by seed (an automatic or searched JTT lambda), the run's own name ("JTT (λ=23)"); null otherwise.</summary>
    public string? RunName { get; init; }
    public required int Seed { get; init; }
    /// <summary>The group labels the whole run read: the method's training, its identification rule and its selection rule.</summary>
    public required LabelBudget LabelsUsed { get; init; }
    /// <summary>How the reported epoch was selected on validation (the rule's name).</summary>
    public required string Selection { get; init; }
    /// <summary>The identification epoch T of the error set the method trained on, when it used one.</summary>
    public int? IdentificationEpoch { get; init; }
    /// <summary>ORACLE, reference only: the best test worst-group accuracy over the run's epochs (selected on test).</summary>
    public double? OracleTestWorstGroup { get; init; }
    public required int BestEpoch { get; init; }
    public required IReadOnlyList<EpochResult> ValidationHistory { get; init; }
    public required EvaluationResult Test { get; init; }
    public required double Seconds { get; init; }
    public required long SamplesSeen { get; init; }

    /// <summary>True for a last-layer row (DFR, AFR): its validation history is its base run's, its own result is the fitted head's.</summary>
    public bool LastLayer { get; init; }

    /// <summary>A last-layer row's validation result with the fitted head; null for other rows.</summary>
    public EvaluationResult? LastLayerValidation { get; init; }

    /// <summary>The result of a recipe run, its model evaluated on test.</summary>
    internal static MethodResult Of(RecipeRun run, string name, int seed, EvaluationResult test, double seconds) => new()
    {
        Method = name, Seed = seed, LabelsUsed = run.LabelBudget, Selection = run.History.Selection.Name, IdentificationEpoch = run.IdentificationEpoch,
        OracleTestWorstGroup = run.History.OracleBest?.OracleReference?.WorstGroupAccuracy, BestEpoch = run.History.Best.Epoch,
        ValidationHistory = run.History.ValidationHistory, Test = test, Seconds = seconds, SamplesSeen = run.History.Epochs.Sum(e => e.Method.Samples),
    };

    /// <summary>A last-layer row: its validation result at the base run's selected epoch (or the last, for ERM's final model, or AFR's step), logged.</summary>
    internal static MethodResult OfLastLayer(LastLayerRun run, string name, MethodResult? baseResult, int seed, EvaluationResult validation, EvaluationResult test, double seconds,
        int epochs, Action<string> progress)
    {
        progress($"{name}: {run.Fit.Summary}, test worst-group {test.WorstGroupAccuracy:P1}");
        int epoch = run.Fit.Details is GroupRobust.Methods.AfrResult afr ? afr.Step : baseResult?.BestEpoch ?? epochs;
        return new MethodResult
        {
            Method = name, Seed = seed, LabelsUsed = run.LabelBudget, Selection = SelectionRule.WorstGroupAccuracy.Name, IdentificationEpoch = baseResult?.IdentificationEpoch,
            BestEpoch = epoch, ValidationHistory = baseResult?.ValidationHistory ?? [new EpochResult(epoch, validation)],
            Test = test, Seconds = seconds + (baseResult?.Seconds ?? 0), SamplesSeen = baseResult?.SamplesSeen ?? run.BaseHistory?.Epochs.Sum(e => e.Method.Samples) ?? 0,
            LastLayer = true, LastLayerValidation = validation,
        };
    }
}
