using static TorchSharp.torch;

namespace GroupRobust.Mixing;

/// <summary>
/// Where JM1 mixes (JM1 paper, Section 3; Manifold Mixup's mechanism): the input, the penultimate representation
/// ("output": the input of the final classifier module), a named submodule's output, or one of several candidates
/// drawn uniformly per batch ("random", Manifold Mixup's k over {input, block 1, block 2}).
/// </summary>
/// <remarks>
/// Naming a model's candidates for "random": pass them (<c>MixingLayer.Random("input", "block1", "block2")</c>), or let
/// the model declare them by implementing <see cref="IMixingCandidates"/> and use <see cref="Random()"/> without
/// arguments. Names are those of <c>named_modules()</c> plus <see cref="MixedForwardPass.InputLayer"/> and
/// <see cref="MixedForwardPass.OutputLayer"/>.
/// </remarks>
public sealed record MixingLayer
{
    private MixingLayer(string description, IReadOnlyList<string>? candidates)
    {
        Description = description;
        Candidates = candidates;
    }

    /// <summary>A readable description: "input", "output", a module name, or "random layer".</summary>
    public string Description { get; }

    /// <summary>The candidate layers; null for <see cref="Random()"/> without candidates (the model's <see cref="IMixingCandidates"/> decide).</summary>
    public IReadOnlyList<string>? Candidates { get; }

    /// <summary>Mix the inputs (the default).</summary>
    public static MixingLayer Input { get; } = new(MixedForwardPass.InputLayer, [MixedForwardPass.InputLayer]);

    /// <summary>Mix the penultimate representation (the input of the final classifier module).</summary>
    public static MixingLayer Output { get; } = new(MixedForwardPass.OutputLayer, [MixedForwardPass.OutputLayer]);

    /// <summary>Mix the output of the submodule <paramref name="module"/> (a name from <c>named_modules()</c>), or an explicit point a model marks with <see cref="MixedForwardPass.MixHere"/>.</summary>
    /// <exception cref="ArgumentException">The name is empty.</exception>
    public static MixingLayer Named(string module)
    {
        ArgumentException.ThrowIfNullOrEmpty(module);
        return new MixingLayer(module, [module]);
    }

    /// <summary>One of <paramref name="candidates"/>, drawn uniformly per batch.</summary>
    /// <param name="candidates">At least one layer name (see the remarks).</param>
    /// <exception cref="ArgumentException">No candidate or an empty name.</exception>
    public static MixingLayer Random(params string[] candidates)
    {
        ArgumentNullException.ThrowIfNull(candidates);
        if (candidates.Length == 0)
            throw new ArgumentException("Random mixing needs at least one candidate layer; or call Random() on a model that implements IMixingCandidates.", nameof(candidates));
        foreach (var c in candidates) ArgumentException.ThrowIfNullOrEmpty(c, nameof(candidates));
        return new MixingLayer("random layer", candidates.ToArray());
    }

    /// <summary>One of the model's declared candidates (<see cref="IMixingCandidates"/>), drawn uniformly per batch.</summary>
    public static MixingLayer Random() => new("random layer", null);

    /// <summary>Parses "input", "output", "random" (the model's declared candidates), "random:a,b,c", or a module name.</summary>
    /// <exception cref="ArgumentException">The text is empty.</exception>
    public static MixingLayer Parse(string text)
    {
        ArgumentException.ThrowIfNullOrEmpty(text);
        return text switch
        {
            MixedForwardPass.InputLayer => Input,
            MixedForwardPass.OutputLayer => Output,
            "random" => Random(),
            _ when text.StartsWith("random:", StringComparison.Ordinal) => Random(text["random:".Length..].Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)),
            _ => Named(text),
        };
    }

    /// <summary>Whether this mixes the inputs and nothing else (<see cref="Input"/>, or a named or random layer whose only candidate is the input).</summary>
    internal bool IsInput => Candidates is [MixedForwardPass.InputLayer];

    /// <summary>The candidate layers for <paramref name="model"/>.</summary>
    /// <exception cref="ArgumentException">Random mixing without candidates on a model that does not declare any.</exception>
    internal IReadOnlyList<string> CandidatesFor(nn.Module model)
        => Candidates ?? (model as IMixingCandidates)?.MixingCandidates
           ?? throw new ArgumentException($"Random mixing without candidates needs a model that implements IMixingCandidates; {model.GetType().Name} does not. " +
                                          "Name the candidates: MixingLayer.Random(\"input\", \"block1\", \"block2\").", nameof(model));

    /// <inheritdoc />
    public override string ToString() => Candidates is null || Candidates.Count == 1 ? Description : $"{Description} ({string.Join(", ", Candidates)})";
}
