using System.Globalization;
using GroupRobust.Data;
using GroupRobust.Methods;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace GroupRobust.Training;

/// <summary>
/// One optimisation step: how the loss's gradient becomes an update. <see cref="Plain"/> is backward then
/// <c>optimizer.step()</c>; <see cref="Sam"/> is sharpness-aware minimisation (two evaluations of the loss per step).
/// The ready loop (<see cref="TrainingLoopOptions.Step"/>) and a hand-written loop take one, so a step rule is an
/// option, not a fork of the loop; gradient clipping and data-parallel gradient averaging run inside it
/// (<see cref="StepContext"/>). Derive from it for another rule.
/// </summary>
public abstract class OptimizerStep
{
    /// <summary>Zero the gradients, evaluate the loss, backpropagate, (clip,) update: the ordinary step.</summary>
    public static OptimizerStep Plain { get; } = new PlainStep();

    /// <summary>
    /// Sharpness-aware minimisation (Foret et al., ICLR 2021; adaptive: Kwon et al., ICML 2021), as the reference
    /// implementations step it: the gradient g at w; the ascent e = rho g / ||g|| (adaptive: e = rho w^2 g / ||w g||); the
    /// gradient at w + e (<see cref="StepContext.RepeatLoss"/>: the same batch and draws); the weights restored to w; the
    /// base optimizer's update with that gradient. Costs two forward and backward passes per step. Batch-norm running
    /// statistics are updated by the first pass only (the second runs with momentum 0, as the reference's
    /// <c>disable_running_stats</c>; their batch counters still advance).
    /// </summary>
    /// <param name="rho">The neighbourhood size, &gt; 0 (default 0.05, the paper's default; 2.0 is the ASAM paper's for adaptive).</param>
    /// <param name="adaptive">Scale the neighbourhood by the weights' magnitudes (ASAM; default false).</param>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="rho"/> is not a finite number &gt; 0.</exception>
    public static OptimizerStep Sam(double rho = 0.05, bool adaptive = false)
    {
        if (!(rho > 0 && double.IsFinite(rho))) throw new ArgumentOutOfRangeException(nameof(rho), rho, "SAM's rho must be a finite number > 0.");
        return new SamStep(rho, adaptive);
    }

    /// <summary>A short name for tables, e.g. "SAM (ρ=0.05)"; empty for <see cref="Plain"/>.</summary>
    public abstract string Name { get; }

    /// <summary>Takes one step and returns the loss of its first evaluation (for logging; in the caller's dispose scope).</summary>
    /// <param name="step">The model, the optimizer, the loss functions and the hooks.</param>
    public abstract Tensor Take(StepContext step);

    /// <summary>Takes one step of <paramref name="method"/> on <paramref name="batch"/> (the common case of <see cref="Take(StepContext)"/>).</summary>
    /// <param name="method">The training method (its <see cref="ITrainingMethod.Loss"/> and <see cref="ITrainingMethod.RepeatLoss"/>).</param>
    /// <param name="model">The model being trained.</param>
    /// <param name="optimizer">An optimizer over the model's parameters.</param>
    /// <param name="batch">A batch of the current epoch.</param>
    /// <param name="maxGradientNorm">Clip the global gradient norm to this value (a finite number &gt; 0) before the update; null for no clipping.</param>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="maxGradientNorm"/> is not a finite number &gt; 0.</exception>
    public Tensor Take(ITrainingMethod method, nn.Module<Tensor, Tensor> model, OptimizerHelper optimizer, Batch batch, double? maxGradientNorm = null)
    {
        ArgumentNullException.ThrowIfNull(method);
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(optimizer);
        ArgumentNullException.ThrowIfNull(batch);
        StepContext.CheckNorm(maxGradientNorm, nameof(maxGradientNorm));
        return Take(new StepContext(model, optimizer, () => method.Loss(model, batch), () => method.RepeatLoss(model, batch)) { MaxGradientNorm = maxGradientNorm });
    }

    /// <inheritdoc />
    public override string ToString() => Name.Length == 0 ? "plain" : Name;

    /// <summary>Zeroes the gradients, evaluates the loss, backpropagates and runs the hook after backward: the first pass of every step.</summary>
    /// <param name="step">The step's context.</param>
    /// <returns>The loss of the evaluation (in the caller's dispose scope).</returns>
    protected static Tensor FirstPass(StepContext step)
    {
        ArgumentNullException.ThrowIfNull(step);
        step.Optimizer.zero_grad();
        var loss = step.Loss();
        loss.backward();
        step.AfterBackward?.Invoke();
        return loss;
    }

    /// <summary>Clips the gradients when the context asks for it (TorchSharp's clip reads the norm back to the host: one value per step).</summary>
    /// <param name="step">The step's context (<see cref="StepContext.MaxGradientNorm"/>).</param>
    protected static void Clip(StepContext step)
    {
        ArgumentNullException.ThrowIfNull(step);
        if (step.MaxGradientNorm is double max) nn.utils.clip_grad_norm_(step.Model.parameters(), max);
    }

    private sealed class PlainStep : OptimizerStep
    {
        public override string Name => "";

        public override Tensor Take(StepContext step)
        {
            var loss = FirstPass(step);
            Clip(step);
            step.Optimizer.step();
            return loss;
        }
    }

    private sealed class SamStep(double rho, bool adaptive) : OptimizerStep
    {
        public override string Name => string.Create(CultureInfo.InvariantCulture, $"{(adaptive ? "ASAM" : "SAM")} (ρ={rho:G})");

        public override Tensor Take(StepContext step)
        {
            var loss = FirstPass(step);
            var parameters = step.Model.parameters().Where(p => p.grad is not null).ToList();
            var saved = new List<Tensor>(parameters.Count);
            bool perturbed = false;
            try
            {
                using (var scope = NewDisposeScope())
                using (torch.no_grad())
                {
                    // ||g|| (adaptive: ||w g||) over all parameters, on the device: no host synchronisation
                    var norms = parameters.Select(p => (adaptive ? p.abs() * p.grad! : p.grad!).norm()).ToArray();
                    var scale = rho / (torch.stack(norms).norm() + 1e-12);
                    foreach (var p in parameters)
                    {
                        saved.Add(p.detach().clone().DetachFromDisposeScope());
                    }
                    perturbed = true;
                    foreach (var p in parameters) p.add_((adaptive ? p.square() * p.grad! : p.grad!) * scale.to(p.dtype));
                }
                step.Optimizer.zero_grad();
                using (FrozenRunningStatistics(step.Model))
                using (var second = step.RepeatLoss())
                    second.backward();
                step.AfterBackward?.Invoke();
            }
            finally
            {
                // back to w (exactly: the saved copies), also when the second evaluation failed
                if (perturbed)
                    using (torch.no_grad())
                        for (int i = 0; i < parameters.Count; i++) parameters[i].copy_(saved[i]);
                foreach (var t in saved) t.Dispose();
            }
            Clip(step);
            step.Optimizer.step();
            return loss;
        }

        /// <summary>Momentum 0 on every normalisation layer of <paramref name="model"/> until disposed (running statistics kept as they are).</summary>
        private static Restore FrozenRunningStatistics(nn.Module model)
        {
            var layers = model.modules().OfType<NormBase>().Select(m => (Layer: m, m.momentum)).ToArray();
            foreach (var (layer, _) in layers) layer.momentum = 0.0;
            return new Restore(() =>
            {
                foreach (var (layer, momentum) in layers) layer.momentum = momentum;
            });
        }

        private sealed class Restore(Action undo) : IDisposable
        {
            public void Dispose() => undo();
        }
    }
}
