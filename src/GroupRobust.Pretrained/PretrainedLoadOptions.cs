namespace GroupRobust.Pretrained;

/// <summary>How <see cref="PretrainedWeights.Load"/> matches a file's tensors to a model's parameters and buffers.</summary>
public sealed record PretrainedLoadOptions
{
    /// <summary>
    /// Key prefixes to leave as the model has them (default none), for example <c>"fc."</c> to keep a new classifier
    /// head: the file's tensors under them are ignored and the model's are not required.
    /// </summary>
    public IReadOnlyList<string> Skip { get; init; } = [];

    /// <summary>
    /// Require the file and the model to hold exactly the same keys outside <see cref="Skip"/> (default true, as
    /// PyTorch's <c>load_state_dict(strict=True)</c>). Mis-shaped tensors are an error either way.
    /// </summary>
    public bool Strict { get; init; } = true;
}
