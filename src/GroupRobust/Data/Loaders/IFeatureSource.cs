using static TorchSharp.torch;

namespace GroupRobust.Data.Loaders;

/// <summary>Supplies precomputed input features by row (e.g. MultiNLI token ids, attention masks and segment ids, or embeddings).</summary>
public interface IFeatureSource
{
    /// <summary>Number of rows.</summary>
    int Count { get; }

    /// <summary>The features of <paramref name="rows"/>, stacked along dimension 0, on <paramref name="device"/>.</summary>
    Tensor Get(ReadOnlySpan<long> rows, Device device);
}
