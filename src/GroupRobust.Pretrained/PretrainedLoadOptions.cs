namespace GroupRobust.Pretrained;

/// <summary>How <see cref="PretrainedWeights.Load(TorchSharp.torch.nn.Module, string, PretrainedLoadOptions?)"/> matches a file's tensors to a model's parameters and buffers.</summary>
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

    /// <summary>
    /// A prefix of the file's keys to read under (default none): only the file's keys that start with it are used, with
    /// it removed, so the encoder of a whole checkpoint loads into an encoder (<c>"bert."</c> of a
    /// <c>BertForSequenceClassification</c>). The file's other keys are ignored and reported.
    /// </summary>
    public string FilePrefix { get; init; } = "";

    /// <summary>
    /// Ignore (and report in <see cref="PretrainedLoadReport.Ignored"/>) the file's keys the model does not have, while
    /// every model key outside <see cref="Skip"/> must still be in the file (default false: such keys are an error when
    /// <see cref="Strict"/>). For checkpoints that carry more than the model: a pretraining head, a pooler that is not
    /// used, a buffer such as BERT's <c>embeddings.position_ids</c>, or an ONNX graph's shape constants.
    /// </summary>
    public bool AllowUnusedFileKeys { get; init; }

    /// <summary>Collections print as their items, not as "System.String[]" (the members of the compiler's <c>ToString</c>).</summary>
    private bool PrintMembers(System.Text.StringBuilder builder) => GroupRobust.Internal.RecordText.Print(this, builder);
}
