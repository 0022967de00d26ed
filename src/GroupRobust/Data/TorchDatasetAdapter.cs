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
public sealed class TorchDatasetAdapter : IGroupDataset
{
    private readonly utils.data.Dataset _source;
    private readonly string _inputKey;
    private readonly int[] _labels;
    private readonly int[] _groups;

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
    {
        ArgumentNullException.ThrowIfNull(source);
        ArgumentNullException.ThrowIfNull(scheme);
        if (source.Count == 0) throw new ArgumentException("The TorchSharp dataset is empty.", nameof(source));
        if (source.Count > int.MaxValue) throw new ArgumentException($"The dataset has {source.Count} samples; at most {int.MaxValue} are supported.", nameof(source));
        _source = source;
        _inputKey = inputKey;
        Scheme = scheme;
        Device = device ?? CPU;
        int n = (int)source.Count;
        _labels = new int[n];
        _groups = attributeKey is null ? [] : new int[n];
        for (int i = 0; i < n; i++)
        {
            using var scope = NewDisposeScope();
            var sample = source.GetTensor(i);
            _labels[i] = (int)Scalar(sample, labelKey, i);
            scheme.CheckLabel(_labels[i], "labels");
            if (attributeKey is not null)
            {
                int a = (int)Scalar(sample, attributeKey, i);
                if ((uint)a >= (uint)scheme.NumAttributes)
                    throw new ArgumentOutOfRangeException(nameof(attributeKey), a, $"Attribute of sample {i} is {a}; expected [0, {scheme.NumAttributes - 1}].");
                _groups[i] = _labels[i] * scheme.NumAttributes + a;
            }
            if (!sample.ContainsKey(inputKey))
                throw new ArgumentException($"Sample {i} has no '{inputKey}' entry; keys are: {string.Join(", ", sample.Keys)}.", nameof(inputKey));
        }
    }

    /// <inheritdoc />
    public int Count => _labels.Length;

    /// <inheritdoc />
    public GroupScheme Scheme { get; }

    /// <inheritdoc />
    public ReadOnlyMemory<int> Labels => _labels;

    /// <inheritdoc />
    public bool HasGroups => _groups.Length > 0;

    /// <inheritdoc />
    public ReadOnlyMemory<int> Groups => _groups;

    /// <inheritdoc />
    public Device Device { get; }

    /// <inheritdoc />
    public Batch GetBatch(ReadOnlySpan<long> indices)
    {
        if (indices.Length == 0) throw new ArgumentException("At least one index is needed.", nameof(indices));
        var idx = indices.ToArray();
        using var scope = NewDisposeScope();
        var inputs = new Tensor[idx.Length];
        for (int i = 0; i < idx.Length; i++)
        {
            if ((ulong)idx[i] >= (ulong)Count)
                throw new ArgumentOutOfRangeException(nameof(indices), idx[i], $"Index at position {i} is {idx[i]}; the dataset has {Count} samples.");
            inputs[i] = _source.GetTensor(idx[i])[_inputKey];
        }
        var x = torch.stack(inputs).to(Device);
        var y = torch.tensor(idx.Select(i => (long)_labels[i]).ToArray(), ScalarType.Int64, Device);
        var g = HasGroups ? torch.tensor(idx.Select(i => (long)_groups[i]).ToArray(), ScalarType.Int64, Device) : null;
        return new Batch(x, y, g, idx).MoveToOuterDisposeScope();
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
