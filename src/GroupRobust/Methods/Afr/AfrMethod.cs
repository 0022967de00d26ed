using System.Globalization;
using GroupRobust.Data;
using GroupRobust.Groups;
using GroupRobust.Internal;
using GroupRobust.Methods;
using GroupRobust.Randomness;
using TorchSharp;
using static TorchSharp.torch;
using GroupRobust.Models;

namespace GroupRobust.Methods;

/// <summary>
/// AFR's last-layer step (Qiu et al., ICML 2023, "Simple and fast group robustness by automatic feature reweighting") as a
/// method over cached features: the model is the last layer (a <c>Linear</c>, or any module ending in one), started at
/// the ERM head (W0, b0); each held-out sample i gets the fixed weight w_i proportional to exp(-gamma p_i), p_i the ERM
/// head's softmax probability of the true class (so samples ERM gets wrong weigh more), class-rebalanced and normalised
/// to sum 1; the loss is sum_i w_i CE(W e_i + b, y_i) + lambda (||W - W0||^2 + ||b - b0||^2). No group labels; the reference
/// chooses gamma, lambda and the step by validation worst-group accuracy (<c>LastLayerRecipe</c>).
/// </summary>
/// <remarks>The reference takes one full-batch step per "epoch" (batch size = N); with smaller batches every batch sums its own weights and adds the pull once. The epoch order is the fixed order 0..N-1.</remarks>
public sealed class AfrMethod : TrainingMethod
{
    private readonly Tensor _weights;
    private readonly LinearHead _initial;
    private Tensor? _w0, _b0, _deviceWeights;

    /// <summary>Creates the method.</summary>
    /// <param name="heldOut">Features of the held-out part of the training split (<see cref="FeatureExtractor"/>), with their class labels.</param>
    /// <param name="initial">The ERM model's last layer (<see cref="LinearHead.Read"/>): the starting point, the weights' source and the pull's target.</param>
    /// <param name="seeds">Seed source (the order is fixed; kept for the contract's state).</param>
    /// <param name="options">gamma, lambda and class rebalancing.</param>
    /// <exception cref="ArgumentException">The head's shape does not fit the features.</exception>
    public AfrMethod(TensorGroupDataset heldOut, LinearHead initial, SeedSource seeds, AfrOptions? options = null)
        : base("afr", (heldOut ?? throw new ArgumentNullException(nameof(heldOut))).Labels, seeds)
    {
        ArgumentNullException.ThrowIfNull(initial);
        Options = options ?? new AfrOptions();
        Options.Validate();
        if (heldOut.Inputs.dim() != 2 || heldOut.Inputs.shape[1] != initial.Features || initial.Classes != heldOut.Scheme.NumClasses)
            throw new ArgumentException($"The head is [{initial.Classes}, {initial.Features}] but the features are {Guard.Shape(heldOut.Inputs)} with {heldOut.Scheme.NumClasses} classes.", nameof(initial));
        Guard.FiniteOnAnyDevice(heldOut.Inputs, nameof(heldOut));
        _initial = initial;
        using var scope = NewDisposeScope();
        using var noGrad = torch.no_grad();
        var x = heldOut.Inputs.to(ScalarType.Float64);
        var labels = torch.tensor(heldOut.Labels.ToArray().Select(v => (long)v).ToArray(), ScalarType.Int64, x.device);
        var p = nn.functional.softmax(initial.Logits(x), 1).gather(1, labels.unsqueeze(1)).squeeze(1);
        // in log space: log w = -gamma p (+ log(N / N_y)), normalised by a softmax, so a large gamma cannot underflow every
        // exp(-gamma p) to 0 and turn the weights into 0 / 0
        var logW = p * -Options.Gamma;
        if (Options.RebalanceClasses)
        {
            var counts = torch.zeros(initial.Classes, ScalarType.Float64, x.device).scatter_add(0, labels, torch.ones_like(logW));
            logW = logW + (counts.sum() / counts.clamp_min(1)).log().index_select(0, labels);
        }
        _weights = nn.functional.softmax(logW, 0).cpu().DetachFromDisposeScope();
    }

    /// <summary>The options in use.</summary>
    public AfrOptions Options { get; }

    /// <summary>The per-sample weights w (sum 1), host values.</summary>
    public double[] SampleWeights()
    {
        using var call = EnterCall();
        return _weights.data<double>().ToArray();
    }

    /// <inheritdoc />
    public override string Name => string.Create(CultureInfo.InvariantCulture, $"AFR (γ={Options.Gamma:G4}, λ={Options.Lambda:G4})");

    /// <inheritdoc />
    public override LabelBudget LabelBudget => LabelBudget.None;

    /// <inheritdoc />
    protected override long[] Order(int epoch) => Shuffling.Identity(DatasetSize);

    /// <inheritdoc />
    protected override Tensor BatchLoss(nn.Module<Tensor, Tensor> model, Batch batch)
    {
        var head = ClassifierModule.Linear(model, null, nameof(model));
        var weight = head.weight!;
        var bias = head.bias ?? throw new ArgumentException("AFR's last layer needs a bias.", nameof(model));
        // Device has no value equality: compare type and index
        if (_w0 is null || _w0.device_type != weight.device_type || _w0.device_index != weight.device_index || _w0.dtype != weight.dtype)
        {
            _w0?.Dispose();
            _b0?.Dispose();
            _deviceWeights?.Dispose();
            _w0 = _initial.WeightTensor(weight.dtype, weight.device).DetachFromDisposeScope();
            _b0 = _initial.BiasTensor(bias.dtype, bias.device).DetachFromDisposeScope();
            _deviceWeights = _weights.to(ScalarType.Float32, weight.device).DetachFromDisposeScope();
        }
        var logits = model.call(batch.Inputs);
        var ce = nn.functional.cross_entropy(logits, batch.Labels, reduction: nn.Reduction.None).to(ScalarType.Float32);
        var w = _deviceWeights!.index_select(0, HostUpload.Int64(batch.Indices, weight.device));
        var loss = (w * ce).sum();
        if (Options.Lambda == 0) return loss;
        var pull = (weight - _w0).square().sum() + (bias - _b0!).square().sum();
        return loss + pull.to(ScalarType.Float32) * Options.Lambda;
    }

    /// <inheritdoc />
    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            _weights.Dispose();
            _w0?.Dispose();
            _b0?.Dispose();
            _deviceWeights?.Dispose();
        }
        base.Dispose(disposing);
    }
}
