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
/// <exception cref="ArgumentNullException">An argument is null.</exception>
public sealed record StepContext(nn.Module Model, OptimizerHelper Optimizer, Func<Tensor> Loss, Func<Tensor> RepeatLoss)
{
    private readonly nn.Module _model = Model ?? throw new ArgumentNullException(nameof(Model));
    private readonly OptimizerHelper _optimizer = Optimizer ?? throw new ArgumentNullException(nameof(Optimizer));
    private readonly Func<Tensor> _loss = Loss ?? throw new ArgumentNullException(nameof(Loss));
    private readonly Func<Tensor> _repeatLoss = RepeatLoss ?? throw new ArgumentNullException(nameof(RepeatLoss));
    private readonly double? _maxGradientNorm;

    /// <summary>The model being trained (its parameters are the ones stepped).</summary>
    public nn.Module Model { get => _model; init => _model = value ?? throw new ArgumentNullException(nameof(Model)); }

    /// <summary>An optimizer over the model's parameters.</summary>
    public OptimizerHelper Optimizer { get => _optimizer; init => _optimizer = value ?? throw new ArgumentNullException(nameof(Optimizer)); }

    /// <summary>The batch's loss, evaluated first.</summary>
    public Func<Tensor> Loss { get => _loss; init => _loss = value ?? throw new ArgumentNullException(nameof(Loss)); }

    /// <summary>The same loss with the same draws and no state change.</summary>
    public Func<Tensor> RepeatLoss { get => _repeatLoss; init => _repeatLoss = value ?? throw new ArgumentNullException(nameof(RepeatLoss)); }

    /// <summary>Runs after every backward pass, before the gradients are used (data-parallel training averages them here); null (default) for none.</summary>
    public Action? AfterBackward { get; init; }

    /// <summary>Clip the global gradient norm to this value, a finite number &gt; 0, before the update (null, the default: no clipping).</summary>
    /// <exception cref="ArgumentOutOfRangeException">The value is not a finite number &gt; 0.</exception>
    public double? MaxGradientNorm
    {
        get => _maxGradientNorm;
        init => _maxGradientNorm = CheckNorm(value, nameof(MaxGradientNorm));
    }

    /// <summary>The one check of a gradient-clipping norm (the step, the ready loop, data-parallel epochs): null, or a finite number &gt; 0.</summary>
    /// <exception cref="ArgumentOutOfRangeException">The value is not a finite number &gt; 0.</exception>
    internal static double? CheckNorm(double? value, string paramName)
        => value is double g && !(g > 0 && double.IsFinite(g))
            ? throw new ArgumentOutOfRangeException(paramName, g, "Must be a finite number > 0, or null for no clipping.")
            : value;
}
