using GroupRobust.Groups;
using GroupRobust.Internal;
using TorchSharp;
using static TorchSharp.torch;

namespace GroupRobust.Data;

/// <summary>
/// Adapts a TorchSharp <see cref="utils.data.Dataset"/> (samples as dictionaries of tensors) to
/// <see cref="IGroupDataset"/>. Labels and attributes are read once at construction; inputs are fetched per
/// sample and stacked per batch, so prefer <see cref="TensorGroupDataset"/> when the data fits in memory.
/// </summary>
public sealed class TorchDatasetAdapter : GroupDatasetBase
{
    private readonly utils.data.Dataset _source;
    private readonly string _inputKey;

    /// <summary>Wraps <paramref name="source"/>. The adapter does not own or dispose it.</summary>
    /// <param name="source">The TorchSharp dataset.</param>
    /// <param name="scheme">The group structure.</param>
    /// <param name="inputKey">Dictionary key of the input tensor (default "data", as TorchSharp's vision datasets use).</param>
    /// <param name="labelKey">Dictionary key of the scalar label tensor (default "label").</param>
    /// <param name="attributeKey">Dictionary key of the scalar attribute tensor, or null when the dataset has no group annotations.</param>
    /// <param name="device">Device batches are returned on (CPU by default).</param>
    /// <exception cref="ArgumentException">The dataset is empty or lacks a key.</exception>
    /// <exception cref="ArgumentOutOfRangeException">A label or attribute is out of range.</exception>
    public TorchDatasetAdapter(utils.data.Dataset source, GroupScheme scheme, string inputKey = "data", string labelKey = "label",
        string? attributeKey = null, Device? device = null)
        : this(source, scheme, inputKey, ReadColumns(source, inputKey, labelKey, attributeKey), device)
    {
    }

    private TorchDatasetAdapter(utils.data.Dataset source, GroupScheme scheme, string inputKey, (int[] Labels, int[]? Attributes) columns, Device? device)
        : base(scheme, columns.Labels, columns.Attributes, device ?? CPU)
    {
        _source = source;
        _inputKey = inputKey;
    }

    /// <inheritdoc />
    protected override Tensor GatherInputs(long[] indices)
        => torch.stack(indices.Select(i => _source.GetTensor(i)[_inputKey]).ToArray()).to(Device);

    private static (int[] Labels, int[]? Attributes) ReadColumns(utils.data.Dataset source, string inputKey, string labelKey, string? attributeKey)
    {
        ArgumentNullException.ThrowIfNull(source);
        if (source.Count == 0) throw new ArgumentException("The TorchSharp dataset is empty.", nameof(source));
        if (source.Count > int.MaxValue) throw new ArgumentException($"The dataset has {source.Count} samples; at most {int.MaxValue} are supported.", nameof(source));
        int n = (int)source.Count;
        var labels = new int[n];
        var attributes = attributeKey is null ? null : new int[n];
        for (int i = 0; i < n; i++)
        {
            using var scope = NewDisposeScope();
            var sample = source.GetTensor(i);
            if (!sample.ContainsKey(inputKey))
                throw new ArgumentException($"Sample {i} has no '{inputKey}' entry; keys are: {string.Join(", ", sample.Keys)}.", nameof(inputKey));
            labels[i] = (int)Scalar(sample, labelKey, i);
            if (attributes is not null) attributes[i] = (int)Scalar(sample, attributeKey!, i);
        }
        return (labels, attributes);
    }

    private static long Scalar(Dictionary<string, Tensor> sample, string key, int index)
    {
        if (!sample.TryGetValue(key, out var t))
            throw new ArgumentException($"Sample {index} has no '{key}' entry; keys are: {string.Join(", ", sample.Keys)}.", key);
        if (t.numel() != 1)
            throw new ArgumentException($"Entry '{key}' of sample {index} must hold one value, got shape {Guard.Shape(t)}.", key);
        return t.to(ScalarType.Int64).item<long>();
    }
}
