using GroupRobust.Data;
using GroupRobust.Models;
using GroupRobust.Randomness;
using Microsoft.Extensions.Logging;

namespace GroupRobust.Catalog;

/// <summary>What a <see cref="LastLayerEntry"/> fits a new last layer from: cached features and the model's current head.</summary>
internal sealed record LastLayerRequest
{
    /// <summary>
    /// Features of the training data the method reads (<see cref="FeatureExtractor"/>): the whole training split for DFR
    /// (its mean and standard deviation) and CRT, the held-out part for AFR (<see cref="LastLayerEntry.HeldOutFraction"/>);
    /// with group labels only for a method whose budget is training groups (CRT, ReWeightCRT).
    /// </summary>
    public required TensorGroupDataset TrainFeatures { get; init; }

    /// <summary>Features of the validation split, with group labels.</summary>
    public required TensorGroupDataset ValidationFeatures { get; init; }

    /// <summary>The model's current last layer (AFR starts from it and pulls towards it).</summary>
    public required LinearHead Initial { get; init; }

    /// <summary>The seed source of the fit.</summary>
    public required SeedSource Seeds { get; init; }

    /// <summary>The entry's options (of its <see cref="LastLayerEntry.OptionsType"/>); its defaults when null.</summary>
    public object? Options { get; init; }

    /// <summary>Creates the fit's logger; none when null.</summary>
    public ILoggerFactory? Loggers { get; init; }
}
