using TorchSharp;
using static TorchSharp.torch;

namespace GroupRobust.Pretrained;

/// <summary>The input preprocessing of the packaged CNTK ResNets (ResNetPreprocess.onnx): RGB [B, 3, 224, 224] to BGR, minus a mean image (a buffer "mean_image", saved with the model).</summary>
internal sealed class BgrMeanImage : nn.Module<Tensor, Tensor>
{
    private readonly Tensor mean_image;

    public BgrMeanImage(Tensor meanImage) : base(nameof(BgrMeanImage))
    {
        mean_image = meanImage;
        register_buffer("mean_image", mean_image);
    }

    public override Tensor forward(Tensor input)
    {
        if (input.dim() != 4 || input.shape[1] != 3 || input.shape[2] != 224 || input.shape[3] != 224)
            throw new ArgumentException($"'input' has shape [{string.Join(", ", input.shape)}]; this backbone reads RGB images [B, 3, 224, 224] with values in 0..255.", nameof(input));
        using var scope = NewDisposeScope();
        return (input.flip(1) - mean_image).MoveToOuterDisposeScope();
    }

    protected override void RegisterComponents()
    {
    }

    protected override void Dispose(bool disposing)
    {
        if (disposing) mean_image.Dispose();
        base.Dispose(disposing);
    }
}
