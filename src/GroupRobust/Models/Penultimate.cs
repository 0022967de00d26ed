using TorchSharp;
using static TorchSharp.torch;

namespace GroupRobust.Models;

/// <summary>
/// One forward pass that returns both the logits and the representation the final classifier reads, with its gradient
/// (what the feature-matching penalties of MMD and CORAL compare): <see cref="IEncoderHead.Encode"/> then the head for a
/// model that declares them, else the input of the final classifier module (<see cref="ClassifierModule"/>) taken with a
/// pre-hook for the length of the call.
/// </summary>
internal static class Penultimate
{
    /// <summary>Runs <paramref name="model"/> on <paramref name="inputs"/>; both results are in the caller's dispose scope.</summary>
    /// <exception cref="ArgumentException">The model has no classifier module, or its forward does not invoke it through <c>call()</c>.</exception>
    public static (Tensor Features, Tensor Logits) Forward(nn.Module<Tensor, Tensor> model, Tensor inputs, string paramName)
    {
        if (model is IEncoderHead declared)
        {
            var encoded = declared.Encode(inputs);
            return (encoded, declared.Head.call(encoded));
        }
        string name = ClassifierModule.DefaultName(model)
            ?? throw new ArgumentException("The model has no submodules, so the representation its classifier reads cannot be found; declare it with IEncoderHead (EncoderClassifier).", paramName);
        var head = model.named_modules().First(m => m.name == name).module as nn.Module<Tensor, Tensor>
            ?? throw new ArgumentException($"The model's final module '{name}' is not a Module<Tensor, Tensor>, so it cannot be hooked; declare the encoder with IEncoderHead.", paramName);
        Tensor? captured = null;
        // the hook's tensor belongs to the scope of whatever module runs it (a nested model may free it on return):
        // keep our own handle outside every scope, then hand the caller one in its scope
        var hook = head.register_forward_pre_hook((_, input) =>
        {
            captured?.Dispose();
            captured = input.alias().DetachFromDisposeScope();
            return input;
        });
        try
        {
            var logits = model.call(inputs);
            if (captured is null)
                throw new ArgumentException($"The hook on the classifier '{name}' did not fire: the model's forward does not invoke it through call(), so its input cannot be taken. Declare the encoder with IEncoderHead (EncoderClassifier).", paramName);
            return (captured.alias(), logits);
        }
        finally
        {
            hook.remove();
            captured?.Dispose();
        }
    }
}
