using TorchSharp;

namespace GroupRobust.Internal;

/// <summary>
/// The training flag of a model and of every one of its submodules, captured so that a pass that switches the model to
/// evaluation mode can put each module back exactly as it was (<c>model.train(true)</c> would also unfreeze, say, a
/// batch-norm layer the user keeps in evaluation mode inside a training model).
/// </summary>
internal sealed class TrainingModes : IDisposable
{
    private readonly List<(torch.nn.Module Module, bool Training)> _modes;

    private TrainingModes(torch.nn.Module model)
    {
        // parents before children (by depth of the dotted name): train(bool) recurses, so a child set later keeps its own flag
        _modes = [(model, model.training), .. model.named_modules().Where(m => m.name.Length > 0)
            .OrderBy(m => m.name.Count(c => c == '.')).Select(m => (m.module, m.module.training))];
    }

    /// <summary>Captures every module's flag and switches the model to evaluation mode.</summary>
    public static TrainingModes Evaluating(torch.nn.Module model)
    {
        var modes = new TrainingModes(model);
        model.eval();
        return modes;
    }

    /// <summary>Restores every module's captured flag (each module alone, so the captured mix is kept).</summary>
    public void Dispose()
    {
        foreach (var (module, training) in _modes) module.train(training);
    }
}
