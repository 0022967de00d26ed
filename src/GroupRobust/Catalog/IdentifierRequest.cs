using GroupRobust.Data;
using GroupRobust.Randomness;
using Microsoft.Extensions.Logging;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace GroupRobust.Catalog;

/// <summary>What an <see cref="IdentifierEntry"/> builds an identifier from; which members it needs is its <see cref="IdentifierEntry.Input"/>.</summary>
public sealed record IdentifierRequest
{
    /// <summary>The phase-I model the identifier reads (misclassification, loss magnitude, EIIL's reference model); not owned.</summary>
    public nn.Module<Tensor, Tensor>? Model { get; init; }

    /// <summary>The phase-I epoch T <see cref="Model"/> was taken at (≥ 1), recorded in the groups' metadata; null when unknown.</summary>
    public int? Epoch { get; init; }

    /// <summary>Builds a fresh classifier (XRM trains two of its own).</summary>
    public Func<nn.Module<Tensor, Tensor>>? NewModel { get; init; }

    /// <summary>Builds an optimizer over the given parameters (XRM's twins).</summary>
    public Func<IEnumerable<Parameter>, OptimizerHelper>? NewOptimizer { get; init; }

    /// <summary>
    /// The validation split with its group labels, for an identifier that fits on them
    /// (<see cref="IdentifierInput.ValidationGroups"/>: SSA); not owned. Ignored by the others.
    /// </summary>
    public IGroupDataset? Validation { get; init; }

    /// <summary>The seed source of the identifier's randomness.</summary>
    public required SeedSource Seeds { get; init; }

    /// <summary>The entry's options (of its <see cref="IdentifierEntry.OptionsType"/>); its defaults when null.</summary>
    public object? Options { get; init; }

    /// <summary>Creates the identifier's logger; none when null.</summary>
    public ILoggerFactory? Loggers { get; init; }
}
