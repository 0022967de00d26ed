using GroupRobust.Internal;
using TorchSharp;
using static TorchSharp.torch;

namespace GroupRobust.Models;

/// <summary>
/// A model's final linear layer as values: read it, or put a retrained one back in place (the parameters are
/// overwritten under no_grad; the model's structure and the optimizer's references stay valid).
/// </summary>
public sealed record LinearHead
{
    /// <summary>Weights [C, D], row c the logit of class c (host values, float64).</summary>
    public required double[,] Weight { get; init; }

    /// <summary>Biases [C] (host values).</summary>
    public required double[] Bias { get; init; }

    /// <summary>Number of classes C.</summary>
    public int Classes => Weight.GetLength(0);

    /// <summary>Feature dimension D.</summary>
    public int Features => Weight.GetLength(1);

    /// <summary>Reads the final <c>Linear</c> of <paramref name="model"/> (its final layer, or <paramref name="classifierName"/>).</summary>
    /// <param name="model">The model (a bare <c>Linear</c> is its own final layer).</param>
    /// <param name="classifierName">The final layer's module name; null finds it (the last leaf holding parameters, depth-first).</param>
    /// <returns>The layer's weights and biases as float64 host values.</returns>
    /// <exception cref="ArgumentException">No such module, or it has no bias.</exception>
    public static LinearHead Read(nn.Module model, string? classifierName = null)
    {
        ArgumentNullException.ThrowIfNull(model);
        var linear = ClassifierModule.Linear(model, classifierName, nameof(classifierName));
        var bias = linear.bias ?? throw new ArgumentException("The classifier has no bias; last-layer retraining fits one.", nameof(model));
        return FromTensors(linear.weight!, bias);
    }

    /// <summary>Writes this head into the final <c>Linear</c> of <paramref name="model"/>, in its dtype and on its device.</summary>
    /// <param name="model">The model whose final layer is overwritten in place.</param>
    /// <param name="classifierName">The final layer's module name; null finds it.</param>
    /// <exception cref="ArgumentException">The shapes differ from the model's classifier.</exception>
    public void Load(nn.Module model, string? classifierName = null)
    {
        ArgumentNullException.ThrowIfNull(model);
        var linear = ClassifierModule.Linear(model, classifierName, nameof(classifierName));
        var w = linear.weight!;
        var b = linear.bias ?? throw new ArgumentException("The classifier has no bias.", nameof(model));
        if (w.shape[0] != Classes || w.shape[1] != Features)
            throw new ArgumentException($"The head is [{Classes}, {Features}] but the model's classifier is [{w.shape[0]}, {w.shape[1]}].", nameof(model));
        using var scope = NewDisposeScope();
        using var noGrad = torch.no_grad();
        w.copy_(WeightTensor(w.dtype, w.device));
        b.copy_(torch.tensor(Bias, ScalarType.Float64).to(b.dtype, b.device));
    }

    /// <summary>The weights as a tensor [C, D], in the caller's dispose scope.</summary>
    /// <param name="dtype">The tensor's dtype.</param>
    /// <param name="device">The tensor's device.</param>
    public Tensor WeightTensor(ScalarType dtype, Device device)
    {
        var flat = new double[Weight.Length];
        Buffer.BlockCopy(Weight, 0, flat, 0, flat.Length * sizeof(double));
        using var scope = NewDisposeScope();
        return torch.tensor(flat, ScalarType.Float64).view(Classes, Features).to(dtype, device).MoveToOuterDisposeScope();
    }

    /// <summary>The biases as a tensor [C], in the caller's dispose scope.</summary>
    /// <param name="dtype">The tensor's dtype.</param>
    /// <param name="device">The tensor's device.</param>
    public Tensor BiasTensor(ScalarType dtype, Device device)
    {
        using var scope = NewDisposeScope();
        return torch.tensor(Bias, ScalarType.Float64).to(dtype, device).MoveToOuterDisposeScope();
    }

    /// <summary>Logits X W^T + b of features [N, D].</summary>
    /// <param name="features">Features [N, D], floating; the head is applied in their dtype on their device.</param>
    /// <returns>Logits [N, C].</returns>
    public Tensor Logits(Tensor features)
    {
        using var scope = NewDisposeScope();
        return (features.matmul(WeightTensor(features.dtype, features.device).t()) + BiasTensor(features.dtype, features.device)).MoveToOuterDisposeScope();
    }

    /// <summary>Builds a head from tensors W [C, D] and b [C] (copied to the host).</summary>
    /// <param name="weight">Weights [C, D].</param>
    /// <param name="bias">Biases [C].</param>
    public static LinearHead FromTensors(Tensor weight, Tensor bias)
    {
        ArgumentNullException.ThrowIfNull(weight);
        ArgumentNullException.ThrowIfNull(bias);
        if (weight.dim() != 2 || bias.dim() != 1 || bias.shape[0] != weight.shape[0])
            throw new ArgumentException($"Expected W [C, D] and b [C]; got {Guard.Shape(weight)} and {Guard.Shape(bias)}.", nameof(bias));
        using var scope = NewDisposeScope();
        var w = weight.detach().to(ScalarType.Float64).cpu();
        int c = (int)w.shape[0], d = (int)w.shape[1];
        var flat = w.data<double>().ToArray();
        var result = new double[c, d];
        Buffer.BlockCopy(flat, 0, result, 0, flat.Length * sizeof(double));
        return new LinearHead { Weight = result, Bias = bias.detach().to(ScalarType.Float64).cpu().data<double>().ToArray() };
    }

    /// <summary>Collections print as their items, not as "System.String[]" (the members of the compiler's <c>ToString</c>).</summary>
    private bool PrintMembers(System.Text.StringBuilder builder) => GroupRobust.Internal.RecordText.Print(this, builder);
}
