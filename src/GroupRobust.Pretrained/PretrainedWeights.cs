using System.Collections;
using TorchSharp;
using TorchSharp.PyBridge;
using static TorchSharp.torch;

namespace GroupRobust.Pretrained;

/// <summary>
/// Loads weights saved by PyTorch into a TorchSharp model: a <c>state_dict</c> written by <c>torch.save</c> (.pth, .pt,
/// .bin, read with TorchSharp.PyBridge), a safetensors file (read and checked by
/// <see cref="GroupRobust.Data.Features.SafetensorsFile"/>), or the weights of an ONNX model (<see cref="OnnxWeights"/>:
/// linear layers recovered through the graph). Keys are matched by name (TorchVision for TorchSharp's
/// models use torchvision's names, so torchvision's ImageNet checkpoints load key for key); everything is checked
/// before anything is copied: missing, unexpected and mis-shaped keys are reported together, naming the file, and the
/// model is left untouched when the file does not fit.
/// </summary>
public static class PretrainedWeights
{
    /// <summary>Reads every tensor of a PyTorch state_dict, safetensors or ONNX file, on the CPU (the caller disposes them).</summary>
    /// <param name="path">A .pth / .pt / .bin file written by <c>torch.save(model.state_dict())</c>, a .safetensors file, or an .onnx model (<see cref="OnnxWeights.Read(string)"/>).</param>
    /// <exception cref="FileNotFoundException">The file does not exist.</exception>
    /// <exception cref="FormatException">The file is not a state dict PyBridge can read, or not a valid safetensors file (<see cref="GroupRobust.Data.Features.SafetensorsFile"/>'s checks); the message names it.</exception>
    public static Dictionary<string, Tensor> Read(string path)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        if (!File.Exists(path)) throw new FileNotFoundException($"{path}: no such weights file.", path);
        if (path.EndsWith(".onnx", StringComparison.OrdinalIgnoreCase)) return OnnxWeights.Read(path);
        try
        {
            // the library's own reader: it checks the header against the file and that the tensors tile the data (no
            // gap, no overlap, no appended bytes), naming the file and the tensor, before anything is allocated
            if (path.EndsWith(".safetensors", StringComparison.OrdinalIgnoreCase))
                return GroupRobust.Data.Features.SafetensorsFile.Read(path);
            // the unpickler makes a storage tensor and a view of it per entry: in a scope, only the views leave (the storage
            // handles are freed here, not left to the finaliser; the data lives on in the views)
            using var scope = torch.NewDisposeScope();
            var table = PyTorchUnpickler.UnpickleStateDict(path);
            var result = new Dictionary<string, Tensor>(StringComparer.Ordinal);
            foreach (DictionaryEntry e in table)
            {
                if (e.Key is not string key || e.Value is not Tensor t)
                    throw new FormatException($"{path}: entry '{e.Key}' is a {e.Value?.GetType().Name ?? "null"}, not a tensor; save model.state_dict() (a mapping of names to tensors).");
                result[key] = t;
            }
            foreach (var t in result.Values) t.MoveToOuterDisposeScope();
            return result;
        }
        catch (Exception ex) when (ex is not FormatException and not OutOfMemoryException)
        {
            throw new FormatException($"{path}: not a PyTorch state dict or safetensors file that can be read ({ex.GetType().Name}: {ex.Message}).", ex);
        }
    }

    /// <summary>
    /// Copies the file's tensors into <paramref name="model"/>'s parameters and buffers of the same names (converted to
    /// their dtype and device), after checking that the file fits: same keys (outside <see cref="PretrainedLoadOptions.Skip"/>;
    /// only shapes when not strict), same shapes, floating values for floating tensors, and no NaN or infinity in them
    /// (a poisoned or diverged checkpoint).
    /// </summary>
    /// <param name="model">The model (its training flag and everything else are left alone).</param>
    /// <param name="path">The weights file (see <see cref="Read"/>).</param>
    /// <param name="options">Skipped prefixes and strictness; strict, nothing skipped, by default.</param>
    /// <returns>What was loaded, kept and ignored.</returns>
    /// <exception cref="ArgumentException"><paramref name="options"/> has a null prefix or prefix list.</exception>
    /// <exception cref="FormatException">The file does not fit the model: every missing, unexpected, mis-shaped and non-finite key is listed; the model was not changed.</exception>
    public static PretrainedLoadReport Load(nn.Module model, string path, PretrainedLoadOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(model);
        var read = Read(path);
        try
        {
            return Load(model, read, path, options);
        }
        finally
        {
            foreach (var t in read.Values) t.Dispose();
        }
    }

    /// <summary>
    /// Copies tensors already in memory (a state dict read once with <see cref="Read"/> or <see cref="OnnxWeights"/>, for
    /// many models) into <paramref name="model"/>, with the same checks as <see cref="Load(nn.Module, string, PretrainedLoadOptions?)"/>.
    /// The tensors are copied, not taken: they stay the caller's.
    /// </summary>
    /// <param name="model">The model.</param>
    /// <param name="tensors">Names to tensors.</param>
    /// <param name="source">What the tensors are, for messages and the report (for example the file they came from).</param>
    /// <param name="options">Skipped prefixes, strictness, the prefix to read under; strict, nothing skipped, by default.</param>
    /// <returns>What was loaded, kept and ignored.</returns>
    /// <exception cref="ArgumentException"><paramref name="options"/> has a null prefix or prefix list.</exception>
    /// <exception cref="FormatException">The tensors do not fit the model (every problem listed: missing, unexpected, mis-shaped, of another kind, NaN or infinite); the model was not changed.</exception>
    public static PretrainedLoadReport Load(nn.Module model, IReadOnlyDictionary<string, Tensor> tensors, string source, PretrainedLoadOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(tensors);
        ArgumentException.ThrowIfNullOrEmpty(source);
        options ??= new PretrainedLoadOptions();
        ArgumentNullException.ThrowIfNull(options.FilePrefix, nameof(options));
        if (options.Skip is null || options.Skip.Any(p => p is null)) throw new ArgumentException("options.Skip is null or holds a null prefix.", nameof(options));
        var file = new Dictionary<string, Tensor>(StringComparer.Ordinal);
        var outside = new List<string>();   // the file's keys outside FilePrefix
        foreach (var (key, t) in tensors)
        {
            if (key.StartsWith(options.FilePrefix, StringComparison.Ordinal)) file[key[options.FilePrefix.Length..]] = t;
            else outside.Add(key);
        }
        var target = model.state_dict();
        bool Skipped(string key) => options.Skip.Any(p => key.StartsWith(p, StringComparison.Ordinal));
        var missing = target.Keys.Where(k => !Skipped(k) && !file.ContainsKey(k)).ToList();
        var unexpected = file.Keys.Where(k => !Skipped(k) && !target.ContainsKey(k)).ToList();
        var misShaped = new List<string>();
        var badType = new List<string>();
        var nonFinite = new List<string>();
        foreach (var (key, t) in target)
        {
            if (Skipped(key) || !file.TryGetValue(key, out var value)) continue;
            if (!value.shape.SequenceEqual(t.shape)) misShaped.Add($"{key}: file [{string.Join(", ", value.shape)}], model [{string.Join(", ", t.shape)}]");
            else if (torch.is_floating_point(t) != torch.is_floating_point(value)) badType.Add($"{key}: file {value.dtype}, model {t.dtype}");
            else if (torch.is_floating_point(value) && NonFinite(value) is long n and > 0) nonFinite.Add($"{key}: {n} of {value.numel()}");
        }
        var problems = new List<string>();
        if (options.Strict && missing.Count > 0) problems.Add(List($"{missing.Count} model key(s) missing from the file", missing));
        if (options.Strict && !options.AllowUnusedFileKeys && unexpected.Count > 0) problems.Add(List($"{unexpected.Count} file key(s) the model does not have", unexpected));
        if (misShaped.Count > 0) problems.Add(List($"{misShaped.Count} mis-shaped", misShaped));
        if (badType.Count > 0) problems.Add(List($"{badType.Count} of another kind (floating vs integer)", badType));
        if (nonFinite.Count > 0) problems.Add(List($"{nonFinite.Count} holding NaN or infinite values", nonFinite));
        if (problems.Count > 0)
            throw new FormatException($"{source} does not fit the model ({model.GetType().Name}){(options.FilePrefix.Length > 0 ? $" under the file prefix '{options.FilePrefix}' ({file.Count} of its {tensors.Count} keys)" : "")}: {string.Join("; ", problems)}. Nothing was changed." +
                (misShaped.Count > 0 && options.Skip.Count == 0 ? " A new classifier head? Skip its prefix (PretrainedLoadOptions.Skip, for example \"fc.\")." : ""));
        var loaded = new List<string>();
        using (torch.no_grad())
        {
            foreach (var (key, t) in target)
            {
                if (Skipped(key) || !file.TryGetValue(key, out var value)) continue;
                using var converted = value.to(t.dtype, t.device);   // a new handle (an alias when nothing changes): disposed here
                t.copy_(converted);
                loaded.Add(key);
            }
        }
        var kept = target.Keys.Where(k => !loaded.Contains(k)).ToList();
        var ignored = file.Keys.Where(k => !target.ContainsKey(k) || Skipped(k)).Select(k => options.FilePrefix + k).Concat(outside).ToList();
        return new PretrainedLoadReport(source, loaded, kept, ignored);
    }

    /// <summary>How many of <paramref name="t"/>'s values are NaN or infinite.</summary>
    private static long NonFinite(Tensor t)
    {
        using var scope = torch.NewDisposeScope();
        return t.isfinite().logical_not().sum().item<long>();
    }

    private static string List(string what, List<string> keys)
        => $"{what}: {string.Join(", ", keys.Take(8))}{(keys.Count > 8 ? $", and {keys.Count - 8} more" : "")}";
}
