namespace GroupRobust.Pretrained;

/// <summary>What <see cref="PretrainedWeights.Load(TorchSharp.torch.nn.Module, string, PretrainedLoadOptions?)"/> did.</summary>
/// <param name="Path">The file.</param>
/// <param name="Loaded">The model keys that now hold the file's values.</param>
/// <param name="Skipped">The model keys left as they were (under a skipped prefix, or absent from the file when not strict).</param>
/// <param name="Ignored">The file's keys that were not used (under a skipped prefix, or unknown to the model when not strict).</param>
public sealed record PretrainedLoadReport(string Path, IReadOnlyList<string> Loaded, IReadOnlyList<string> Skipped, IReadOnlyList<string> Ignored)
{
    /// <inheritdoc />
    public override string ToString() => $"{System.IO.Path.GetFileName(Path)}: {Loaded.Count} tensors loaded, {Skipped.Count} model tensors kept, {Ignored.Count} file tensors ignored";
}
