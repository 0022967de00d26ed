using TorchSharp.Modules;
using static TorchSharp.torch;

namespace GroupRobust.Training;

/// <summary>
/// What one optimisation step works with (<see cref="OptimizerStep.Take(StepContext)"/>): the model, its optimizer, the
/// batch's loss (<see cref="Loss"/>, evaluated first) and the same loss again at other weights (<see cref="RepeatLoss"/>,
/// for steps that evaluate twice, such as SAM), and what runs around the update.
/// </summary>
/// <param name="Model">The model being trained (its parameters are the ones stepped).</param>
/// <param name="Optimizer">An optimizer over the model's parameters.</param>
/// <param name="Loss">The batch's loss (a scalar; draws the batch's randomness and advances the method's state), e.g. <c>() =&gt; method.Loss(model, batch)</c>.</param>
/// <param name="RepeatLoss">The same loss with the same draws and no state change, e.g. <c>() =&gt; method.RepeatLoss(model, batch)</c>.</param>
public sealed record StepContext(nn.Module Model, OptimizerHelper Optimizer, Func<Tensor> Loss, Func<Tensor> RepeatLoss)
{
    /// <summary>Runs after every backward pass, before the gradients are used (data-parallel training averages them here); null (default) for none.</summary>
    public Action? AfterBackward { get; init; }

    /// <summary>Clip the global gradient norm to this value before the update (null, the default: no clipping).</summary>
    public double? MaxGradientNorm { get; init; }
}
