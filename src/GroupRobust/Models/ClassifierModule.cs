using TorchSharp;
using static TorchSharp.torch;

namespace GroupRobust.Models;

/// <summary>
/// The one rule for "the model's final classifier module": the declared head of an <see cref="IEncoderHead"/>, else the
/// last leaf module that holds parameters, in depth-first (definition) order (else the last leaf).
/// </summary>
internal static class ClassifierModule
{
    /// <remarks>
    /// Searched in depth-first (definition) order, as PyTorch's <c>named_modules()</c> lists them: TorchSharp's
    /// <c>named_modules()</c> lists all direct children before any grandchild, so its last <c>Linear</c> of
    /// Sequential(features(Linear, ReLU), fc) would be the hidden one, not <c>fc</c>.
    /// </remarks>
    public static string? DefaultName(nn.Module model)
    {
        if (model is IEncoderHead declared)
            return model.named_modules().FirstOrDefault(m => ReferenceEquals(m.module, declared.Head)).name
                ?? throw new ArgumentException($"{model.GetType().Name} declares a head that is not one of its registered submodules; register it (a field, then RegisterComponents()).", nameof(model));
        var leaves = DepthFirst(model, "").Where(m => !m.Module.children().Any()).ToList();
        // the last leaf that holds parameters is the final layer (a Linear for last-layer retraining; a cosine head is
        // reported as such rather than replaced by an inner Linear); parameter-free leaves (ReLU, Dropout) are skipped
        return leaves.LastOrDefault(m => m.Module.parameters(false).Any()).Name ?? leaves.LastOrDefault().Name;
    }

    /// <summary>The submodules in depth-first (definition) order with their dotted names.</summary>
    public static IEnumerable<(string Name, nn.Module Module)> DepthFirst(nn.Module module, string prefix)
    {
        foreach (var (name, child) in module.named_children())
        {
            string full = prefix.Length == 0 ? name : $"{prefix}.{name}";
            yield return (full, child);
            foreach (var inner in DepthFirst(child, full)) yield return inner;
        }
    }

    /// <summary>The classifier module <paramref name="name"/> (or the default one) as a <c>Linear</c>.</summary>
    /// <exception cref="ArgumentException">No such module, or it is not a <c>Linear</c>.</exception>
    public static TorchSharp.Modules.Linear Linear(nn.Module model, string? name, string paramName)
    {
        if (name is null && model is TorchSharp.Modules.Linear itself) return itself;   // the model is the last layer
        var named = model.named_modules().Where(m => m.name.Length > 0).ToList();
        string target = name ?? DefaultName(model)
            ?? throw new ArgumentException("The model has no submodules, so its final classifier cannot be found; pass the classifier's module name.", paramName);
        var found = named.FirstOrDefault(m => m.name == target).module
            ?? throw new ArgumentException($"The model has no submodule '{target}'. Known names: {string.Join(", ", named.Select(m => m.name))}.", paramName);
        return found as TorchSharp.Modules.Linear
            ?? throw new ArgumentException($"The classifier '{target}' is a {found.GetType().Name}; last-layer retraining needs a Linear final layer.", paramName);
    }
}
