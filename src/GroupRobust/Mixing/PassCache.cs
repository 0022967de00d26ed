using static TorchSharp.torch;

namespace GroupRobust.Mixing;

/// <summary>The mixed forward pass of the model a mixing method was last called with, rebuilt when the model changes.</summary>
internal sealed class PassCache(Func<nn.Module<Tensor, Tensor>, MixedForwardPass> create)
{
    private nn.Module<Tensor, Tensor>? _model;

    /// <summary>The cache of a mixing method's passes at <paramref name="layer"/> (its candidates for each model), the layer drawn from <paramref name="rng"/>.</summary>
    public static PassCache At(MixingLayer layer, Random rng, string? classifierName, bool detachPartners = false)
        => new(model => new MixedForwardPass(model, layer.CandidatesFor(model), rng, classifierName, detachPartners: detachPartners));

    /// <summary>The pass of the last call; null before the first.</summary>
    public MixedForwardPass? Current { get; private set; }

    /// <summary>The pass for <paramref name="model"/> (the cached one when the model is the same instance).</summary>
    public MixedForwardPass For(nn.Module<Tensor, Tensor> model)
    {
        if (!ReferenceEquals(model, _model))
        {
            Current = create(model);
            _model = model;
        }
        return Current!;
    }
}
