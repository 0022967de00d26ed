namespace GroupRobust.Mixing;

/// <summary>
/// Implemented by a model that declares where hidden-layer mixing may happen, so that <see cref="MixingLayer.Random()"/>
/// needs no list (Manifold Mixup's {input, after block 1, after block 2} for a ResNet, for example).
/// </summary>
public interface IMixingCandidates
{
    /// <summary>The candidate layer names: <see cref="MixedForwardPass.InputLayer"/>, <see cref="MixedForwardPass.OutputLayer"/> or names from <c>named_modules()</c>.</summary>
    IReadOnlyList<string> MixingCandidates { get; }
}
