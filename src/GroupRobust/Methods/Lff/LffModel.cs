using TorchSharp;
using static TorchSharp.torch;

namespace GroupRobust.Methods;

/// <summary>
/// The pair of networks Learning from Failure trains together (<see cref="LffMethod"/>): the debiased network, which is
/// the classifier (<c>forward</c> is its forward, so evaluation, selection and checkpoints see it), and the biased
/// network, trained alongside with generalized cross entropy. Both are registered submodules ("biased", then "debiased", so
/// the model's final layer is the debiased network's), so
/// one optimizer over <c>parameters()</c> trains both (the reference's two Adam optimizers with equal settings are the
/// same update, Adam being per-parameter), <c>state_dict()</c> and checkpoints hold both, and <c>to(device)</c> moves both.
/// </summary>
/// <remarks>The pair owns both networks: disposing it disposes them. Use the same architecture with independent initialisations, as the reference does.</remarks>
public sealed class LffModel : nn.Module<Tensor, Tensor>
{
    // registration follows field order: the biased network first, the debiased one last, so that "the model's final
    // layer" (last-layer retraining, MixingLayer.Output) resolves to the debiased network's
    private readonly nn.Module<Tensor, Tensor> biased;
    private readonly nn.Module<Tensor, Tensor> debiased;

    /// <summary>Creates the pair; it takes ownership of both networks.</summary>
    /// <param name="debiased">The classifier being debiased (logits [B, C]).</param>
    /// <param name="biased">The biased network, same output shape; must be a different module instance.</param>
    /// <exception cref="ArgumentException">Both arguments are the same module.</exception>
    public LffModel(nn.Module<Tensor, Tensor> debiased, nn.Module<Tensor, Tensor> biased) : base("LfF")
    {
        ArgumentNullException.ThrowIfNull(debiased);
        ArgumentNullException.ThrowIfNull(biased);
        if (ReferenceEquals(debiased, biased))
            throw new ArgumentException("LfF needs two separate networks; 'biased' is the same module as 'debiased'.", nameof(biased));
        this.debiased = debiased;
        this.biased = biased;
        RegisterComponents();
    }

    /// <summary>The debiased network (the classifier).</summary>
    public nn.Module<Tensor, Tensor> Debiased => debiased;

    /// <summary>The biased network (trained with GCE, used only to weight the debiased network's samples).</summary>
    public nn.Module<Tensor, Tensor> Biased => biased;

    /// <summary>The debiased network's logits.</summary>
    public override Tensor forward(Tensor input) => debiased.call(input);

    /// <inheritdoc />
    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            debiased.Dispose();
            biased.Dispose();
        }
        base.Dispose(disposing);
    }
}
