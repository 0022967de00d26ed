using static TorchSharp.torch;

namespace GroupRobust.Models;

/// <summary>
/// A classifier declared as an encoder and a head, logits = Head(Encode(x)): what mixing at the "output" layer
/// interpolates (the representation before the head, the JM1 paper's MultiNLI setting), what DFR and AFR retrain on,
/// and which module last-layer retraining replaces. <see cref="EncoderClassifier"/> composes one from two modules; a model
/// of your own (a text encoder with a pooled output, a network with a custom forward) implements it. Models that do not
/// are split automatically: the head is the last leaf module that holds parameters (Sequential, torchvision's ResNets),
/// and its input is taken with a hook.
/// </summary>
public interface IEncoderHead
{
    /// <summary>The representation the head reads, [B, ...] (the penultimate layer), for a batch of inputs.</summary>
    /// <param name="input">The model's input batch.</param>
    Tensor Encode(Tensor input);

    /// <summary>The head: representation to logits [B, C]. A <c>Linear</c> where last-layer retraining replaces it.</summary>
    nn.Module<Tensor, Tensor> Head { get; }
}
