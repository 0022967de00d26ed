using TorchSharp;
using static TorchSharp.torch;

namespace GroupRobust.Models;

/// <summary>
/// A classifier made of an encoder and a head (<see cref="IEncoderHead"/>): <c>forward(x) = head(encoder(x))</c>. Its
/// submodules are named "encoder" and "head" (state-dict keys <c>encoder.*</c>, <c>head.*</c>; mixing layers such as
/// "encoder.layer2" name the encoder's modules), so one optimizer over <c>parameters()</c> trains both. Owns both modules.
/// </summary>
public sealed class EncoderClassifier : nn.Module<Tensor, Tensor>, IEncoderHead
{
    private readonly nn.Module<Tensor, Tensor> encoder;
    private readonly nn.Module<Tensor, Tensor> head;

    /// <summary>Creates the classifier; it takes ownership of both modules.</summary>
    /// <param name="encoder">Input to representation (for example a backbone with its pooling, or a text encoder's pooled output).</param>
    /// <param name="head">Representation to logits (usually a <c>Linear</c>).</param>
    /// <exception cref="ArgumentException">Both arguments are the same module.</exception>
    public EncoderClassifier(nn.Module<Tensor, Tensor> encoder, nn.Module<Tensor, Tensor> head) : base(nameof(EncoderClassifier))
    {
        ArgumentNullException.ThrowIfNull(encoder);
        ArgumentNullException.ThrowIfNull(head);
        if (ReferenceEquals(encoder, head)) throw new ArgumentException("The encoder and the head must be two modules.", nameof(head));
        this.encoder = encoder;
        this.head = head;
        RegisterComponents();
    }

    /// <summary>The encoder.</summary>
    public nn.Module<Tensor, Tensor> Encoder => encoder;

    /// <inheritdoc />
    public nn.Module<Tensor, Tensor> Head => head;

    /// <inheritdoc />
    public Tensor Encode(Tensor input) => encoder.call(input);

    /// <summary>The logits: the head applied to the encoder's representation.</summary>
    public override Tensor forward(Tensor input) => head.call(encoder.call(input));

    /// <inheritdoc />
    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            encoder.Dispose();
            head.Dispose();
        }
        base.Dispose(disposing);
    }
}
