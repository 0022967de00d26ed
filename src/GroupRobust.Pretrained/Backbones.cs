using TorchSharp;
using static TorchSharp.torch;

namespace GroupRobust.Pretrained;

/// <summary>
/// The backbones every published number for these methods starts from (group_DRO, JTT, JM1: an ImageNet-pretrained
/// ResNet-50; many follow-ups: ResNet-18), as TorchVision for TorchSharp's models, optionally with torchvision's
/// weights. Get the weights once with PyTorch, for example
/// <c>torch.save(torchvision.models.resnet50(weights="IMAGENET1K_V1").state_dict(), "resnet50.pth")</c>.
/// </summary>
public static class Backbones
{
    /// <summary>ResNet-18 with a <paramref name="classes"/>-way head; with <paramref name="weights"/>, every tensor but the head is loaded (the head is new unless it has 1000 classes).</summary>
    /// <exception cref="FormatException">The weights do not fit a ResNet-18 (the keys are listed).</exception>
    public static nn.Module<Tensor, Tensor> ResNet18(int classes, string? weights = null)
        => WithWeights(() => torchvision.models.resnet18(num_classes: classes), classes, weights);

    /// <summary>ResNet-50 with a <paramref name="classes"/>-way head; with <paramref name="weights"/>, every tensor but the head is loaded (the head is new unless it has 1000 classes).</summary>
    /// <exception cref="FormatException">The weights do not fit a ResNet-50 (the keys are listed).</exception>
    public static nn.Module<Tensor, Tensor> ResNet50(int classes, string? weights = null)
        => WithWeights(() => torchvision.models.resnet50(num_classes: classes), classes, weights);

    private static nn.Module<Tensor, Tensor> WithWeights(Func<nn.Module<Tensor, Tensor>> create, int classes, string? weights)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(classes, 2);
        var model = create();
        if (weights is null) return model;
        try
        {
            PretrainedWeights.Load(model, weights, new PretrainedLoadOptions { Skip = classes == 1000 ? [] : ["fc."] });
            return model;
        }
        catch
        {
            model.Dispose();
            throw;
        }
    }
}
