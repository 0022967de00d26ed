using TorchSharp;
using static TorchSharp.torch;
using static TorchSharp.torch.nn;

namespace GroupRobust.Study.Models;

/// <summary>
/// The study's classifier: two conv blocks and a linear head, built as a Sequential so that every block is invoked
/// through call() and hidden-layer mixing can hook "block1", "block2" or the head's input ("output").
/// </summary>
public static class SmallCnn
{
    /// <summary>Mixing points of Manifold Mixup's random layer: input, after block 1, after block 2.</summary>
    public static readonly string[] RandomLayers = ["input", "block1", "block2"];

    /// <summary>Creates the model for 3 x 28 x 28 inputs.</summary>
    public static Module<Tensor, Tensor> Create(int classes, int width = 16)
        => Sequential(
            ("block1", Sequential(Conv2d(3, width, 3, padding: 1), ReLU(), MaxPool2d(2))),                 // 16 x 14 x 14
            ("block2", Sequential(Conv2d(width, 2 * width, 3, padding: 1), ReLU(), MaxPool2d(2))),         // 32 x 7 x 7
            ("features", Sequential(Flatten(), Linear(2 * width * 7 * 7, 64), ReLU())),
            ("fc", Linear(64, classes)));
}
