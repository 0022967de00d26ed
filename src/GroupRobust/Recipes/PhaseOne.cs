using GroupRobust.Groups;
using GroupRobust.Internal;
using GroupRobust.Training;
using TorchSharp;
using static TorchSharp.torch;

namespace GroupRobust.Recipes;

/// <summary>
/// Phase I of a two-phase recipe: an ERM run whose first <see cref="RecipeOptions.Phase1Epochs"/> epochs are the
/// identification candidates T. Keeps the weights of every candidate epoch and of the last epoch (host-independent
/// copies on the model's device) and the run itself (its model at the selected epoch: the ERM baseline).
/// </summary>
public sealed class PhaseOne : IDisposable
{
    private readonly Func<nn.Module<Tensor, Tensor>> _newModel;
    private readonly SortedDictionary<int, Dictionary<string, Tensor>> _snapshots;
    private Dictionary<string, Tensor>? _final;

    internal PhaseOne(RecipeRun run, SortedDictionary<int, Dictionary<string, Tensor>> snapshots, Dictionary<string, Tensor> final, Func<nn.Module<Tensor, Tensor>> newModel,
        Data.IGroupDataset trainedOn)
    {
        TrainedOn = trainedOn;
        Run = run;
        _snapshots = snapshots;
        _final = final;
        _newModel = newModel;
    }

    /// <summary>Throws <see cref="ObjectDisposedException"/> once <see cref="Dispose"/> has freed the weights.</summary>
    internal void EnsureAlive() => ObjectDisposedException.ThrowIf(_final is null, this);

    /// <summary>The training split phase I was trained on (a recipe identifies only on that split).</summary>
    internal Data.IGroupDataset TrainedOn { get; }

    /// <summary>The ERM run (its model is at the epoch validation selected).</summary>
    public RecipeRun Run { get; }

    /// <summary>The candidate epochs T, ascending.</summary>
    public IReadOnlyList<int> Candidates => _snapshots.Keys.ToArray();

    /// <summary>Phase I's validation results of the candidate epochs (what T is chosen from).</summary>
    public IReadOnlyList<Evaluation.EpochResult> CandidateHistory => Run.History.ValidationHistory.Where(e => _snapshots.ContainsKey(e.Epoch)).ToArray();

    /// <summary>A new model with the weights of epoch <paramref name="epoch"/> (a candidate T); the caller disposes it.</summary>
    /// <exception cref="ArgumentOutOfRangeException">The epoch is not a candidate.</exception>
    /// <exception cref="ObjectDisposedException">Phase I was disposed (its weights are gone).</exception>
    public nn.Module<Tensor, Tensor> ModelAt(int epoch)
    {
        EnsureAlive();
        if (!_snapshots.TryGetValue(epoch, out var state))
            throw new ArgumentOutOfRangeException(nameof(epoch), epoch, $"Phase I kept the weights of epochs {string.Join(", ", _snapshots.Keys)} only.");
        return Load(state);
    }

    /// <summary>A new model with the weights of the last epoch (the base model of last-layer retraining, as the references use it); the caller disposes it.</summary>
    /// <exception cref="ObjectDisposedException">Phase I was disposed (its weights are gone).</exception>
    public nn.Module<Tensor, Tensor> FinalModel() => Load(_final ?? throw new ObjectDisposedException(nameof(PhaseOne)));

    private nn.Module<Tensor, Tensor> Load(Dictionary<string, Tensor> state)
    {
        var model = _newModel();
        using var noGrad = torch.no_grad();
        model.load_state_dict(state);
        return model;
    }

    /// <summary>Frees the kept weights and the run's model.</summary>
    public void Dispose()
    {
        foreach (var state in _snapshots.Values) Free(state);
        _snapshots.Clear();
        if (_final is not null) Free(_final);
        _final = null;
        Run.Dispose();
    }

    internal static Dictionary<string, Tensor> Copy(nn.Module model) => ModuleState.Copy(model);

    private static void Free(Dictionary<string, Tensor> state) => ModuleState.Free(state);
}
