using GroupRobust.Internal;
using GroupRobust.Models;
using TorchSharp;
using static TorchSharp.torch;

namespace GroupRobust.Mixing;

/// <summary>
/// Runs a model forward with the batch mixed at the input or at a hidden layer, without rewriting the model (Manifold Mixup's mechanism, used by JM1's
/// "early", "output" and "random" layers): h_mix = c h(x) + (1 - c) h(partner) at the chosen layer, and only the mixed
/// rows continue through the rest of the network.
/// </summary>
/// <remarks>
/// <para>Layer names: <see cref="InputLayer"/> (mix the inputs), any submodule name from <c>named_modules()</c> (mix its
/// output), <see cref="OutputLayer"/> (mix the input of the final classifier module, i.e. the penultimate
/// representation), or an explicit point a custom model marks with <see cref="MixHere"/>.</para>
/// <para>How: the partners go forward first, up to the chosen layer, where a forward hook keeps their representation
/// and stops that pass (by throwing a private exception the mixer catches, so no compute is spent after the layer);
/// then the batch goes forward and the hook replaces its representation by the mix. Both passes run at batch size B
/// and both stay in the autograd graph. Two passes of B rows were measured about 2x faster than one pass of 2B rows on
/// the development CPU (docs/performance.md), and batch-norm layers before the mixing point see the batch and the
/// partners separately, as in an ordinary step.</para>
/// <para>TorchSharp runs hooks only when a module is invoked through <c>call()</c>. When the chosen layer's hook does
/// not fire (a model whose forward calls <c>.forward()</c> on its children), <c>Run</c> throws an
/// <see cref="InvalidOperationException"/> that says so and how to fix it. Hooks are attached for the duration of one
/// pass only, so the model is left untouched between calls.</para>
/// <para>Not thread-safe: a call from a second thread while a call is in progress (<c>Run</c>, <see cref="ChooseLayer"/>,
/// or the model's forward reaching the mixing point or <see cref="MixHere"/> during a pass) throws an
/// <see cref="InvalidOperationException"/> instead of touching the pass's state (give each thread its own pass and model).</para>
/// </remarks>
public sealed class MixedForwardPass
{
    /// <summary>Mix the inputs themselves.</summary>
    public const string InputLayer = "input";

    /// <summary>Mix the representation entering the final classifier module.</summary>
    public const string OutputLayer = "output";

    private readonly nn.Module<Tensor, Tensor> _model;
    private readonly Random _rng;
    private readonly Dictionary<string, nn.Module<Tensor, Tensor>> _modules = [];
    private readonly HashSet<string> _explicitPoints;
    private readonly IEncoderHead? _declared;   // the model's declared encoder and head: "output" mixes Encode's result, no hooks
    private string? _pending;
    private Pass _pass;
    private Tensor? _coefficients;
    private Tensor? _partnerRepresentation;
    private Tensor? _partnerRows;     // for Run with partner rows: where each row's partner is in [batch; outside partners]
    private long _batchRows;          // B: the rows the mix keeps (the pass over [batch; outside partners] has B + K)
    private bool _fired;
    private readonly ExclusiveUse _use = new("mixed forward pass");

    private enum Pass { None, Partners, Batch }

    /// <summary>Thrown by the hook to end the partner pass at the mixing layer; never escapes <c>Run</c>.</summary>
    private sealed class PartnerPassComplete : Exception
    {
    }

    /// <summary>Creates the mixer.</summary>
    /// <param name="model">The classifier (not owned).</param>
    /// <param name="layers">The layers mixing may happen at; one is chosen per batch (uniformly when several).</param>
    /// <param name="rng">Generator of the per-batch layer choice.</param>
    /// <param name="classifierName">Name of the final classifier module for <see cref="OutputLayer"/>; null picks the final layer: the last leaf module holding parameters, in depth-first (definition) order.</param>
    /// <param name="explicitPoints">Names a custom model marks itself with <see cref="MixHere"/> instead of hooks.</param>
    /// <param name="detachPartners">
    /// Run the partner pass without gradients (default false). Exact mixing backpropagates through both
    /// representations; detaching drops the partners' branch of the gradient (the batch's branch and the mix are
    /// unchanged) and saves the partners' backward pass up to the mixing layer — an approximation, for when speed matters
    /// more (docs/performance.md has both costs).
    /// </param>
    /// <exception cref="ArgumentException">A layer name is unknown (the message lists the model's module names), or no layer was given.</exception>
    public MixedForwardPass(nn.Module<Tensor, Tensor> model, IReadOnlyList<string> layers, Random rng, string? classifierName = null,
        IEnumerable<string>? explicitPoints = null, bool detachPartners = false)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(layers);
        ArgumentNullException.ThrowIfNull(rng);
        if (layers.Count == 0) throw new ArgumentException("At least one mixing layer is needed.", nameof(layers));
        _model = model;
        _rng = rng;
        _explicitPoints = explicitPoints?.ToHashSet() ?? [];
        DetachPartners = detachPartners;
        var named = model.named_modules().Where(m => m.name.Length > 0).ToList();
        foreach (var layer in layers)
        {
            if (layer == InputLayer || _explicitPoints.Contains(layer)) continue;
            string target = layer;
            if (layer == OutputLayer)
            {
                target = classifierName ?? ClassifierModule.DefaultName(model)
                    ?? throw new ArgumentException("The model has no submodules, so the 'output' layer (input of the final classifier) cannot be found; pass classifierName.", nameof(classifierName));
            }
            var found = named.FirstOrDefault(m => m.name == target).module
                ?? throw new ArgumentException($"The model has no submodule '{target}'. Known names: {string.Join(", ", named.Select(m => m.name))}; also '{InputLayer}', '{OutputLayer}'" +
                                               (_explicitPoints.Count > 0 ? $" and explicit points {string.Join(", ", _explicitPoints)}" : "") + ".", nameof(layers));
            _modules[layer] = found as nn.Module<Tensor, Tensor>
                ?? throw new ArgumentException($"Submodule '{target}' is a {found.GetType().Name}, not a Module<Tensor, Tensor>, so it cannot be hooked.", nameof(layers));
        }
        Layers = layers.ToArray();
        ClassifierName = layers.Contains(OutputLayer) ? (classifierName ?? ClassifierModule.DefaultName(model)) : classifierName;
        if (layers.Contains(OutputLayer) && model is IEncoderHead declared && ClassifierName == ClassifierModule.DefaultName(model)) _declared = declared;
    }

    /// <summary>Whether the partner pass runs without gradients (see the constructor).</summary>
    public bool DetachPartners { get; }

    /// <summary>The candidate layers.</summary>
    public IReadOnlyList<string> Layers { get; }

    /// <summary>The module whose input <see cref="OutputLayer"/> mixes, when "output" is a candidate.</summary>
    public string? ClassifierName { get; }

    /// <summary>The layer used by the last <c>Run</c> call.</summary>
    public string? LastLayer { get; private set; }

    /// <summary>One candidate layer, uniformly at random (the same one when there is a single candidate; the generator is then not advanced).</summary>
    /// <exception cref="InvalidOperationException">Another thread is inside a call of this pass.</exception>
    public string ChooseLayer()
    {
        using var use = _use.Enter();
        return Layers.Count == 1 ? Layers[0] : Layers[_rng.Next(Layers.Count)];
    }

    /// <summary>
    /// Runs the model on a mix whose partners are partly (or wholly) rows of the batch itself: row i's partner is row
    /// <paramref name="partnerRows"/>[i] of the concatenation [<paramref name="inputs"/>; <paramref name="outsidePartnerInputs"/>]
    /// (rows in [0, B) are batch rows, B + k the k-th outside partner), as drawn by
    /// <see cref="ClassConditionalMixer.DrawPartners(GroupRobust.Data.Batch, PartnerSource)"/> with
    /// <see cref="PartnerSource.Batch"/> (<see cref="MixPlan.PartnerRows"/>, <see cref="MixPlan.OutsidePartnerIndices"/>).
    /// At a hidden layer, one pass runs over the batch and its outside partners together (B + K rows, so batch-norm layers
    /// before the mixing point see an ordinary batch); at the mixing point every partner's representation is a row of it
    /// (gradients flow through both the row and its partner, as with exact mixing) and the B mixed rows go on.
    /// <see cref="DetachPartners"/> does not apply here: there is no separate partner pass.
    /// </summary>
    /// <param name="inputs">Batch inputs [B, ...].</param>
    /// <param name="outsidePartnerInputs">The outside partners [K, ...] (same trailing shape, device and dtype), or null when K = 0.</param>
    /// <param name="partnerRows">B row numbers, each in [0, B + K).</param>
    /// <param name="coefficients">Weights c [B] on the batch rows, each in [0, 1].</param>
    /// <param name="layer">The layer to mix at; null draws one with <see cref="ChooseLayer"/>.</param>
    /// <exception cref="ArgumentOutOfRangeException">A partner row is out of range, or a weight is outside [0, 1] (CPU).</exception>
    /// <exception cref="ArgumentException">Integer inputs (token ids) where the call may mix at the input.</exception>
    /// <exception cref="InvalidOperationException">The chosen layer's hook did not fire, the model changed the batch dimension, or another thread is inside a call of this pass.</exception>
    public Tensor Run(Tensor inputs, Tensor? outsidePartnerInputs, IReadOnlyList<long> partnerRows, Tensor coefficients, string? layer = null)
    {
        using var use = _use.Enter();
        Guard.MinDims(inputs, 1, nameof(inputs));
        ArgumentNullException.ThrowIfNull(partnerRows);
        Guard.Dims(coefficients, 1, nameof(coefficients));
        long b = inputs.shape[0];
        long k = 0;
        if (outsidePartnerInputs is not null)
        {
            Guard.NotNull(outsidePartnerInputs, nameof(outsidePartnerInputs));
            if (!inputs.shape.Skip(1).SequenceEqual(outsidePartnerInputs.shape.Skip(1)) || outsidePartnerInputs.dim() != inputs.dim())
                throw new ArgumentException($"'outsidePartnerInputs' has shape {Guard.Shape(outsidePartnerInputs)} but 'inputs' has {Guard.Shape(inputs)}; all but the first dimension must match.", nameof(outsidePartnerInputs));
            Guard.SameDevice(inputs, nameof(inputs), outsidePartnerInputs, nameof(outsidePartnerInputs));
            if (inputs.dtype != outsidePartnerInputs.dtype)
                throw new ArgumentException($"'outsidePartnerInputs' has dtype {outsidePartnerInputs.dtype} but 'inputs' has {inputs.dtype}.", nameof(outsidePartnerInputs));
            k = outsidePartnerInputs.shape[0];
        }
        if (partnerRows.Count != b)
            throw new ArgumentException($"'partnerRows' has {partnerRows.Count} entries but 'inputs' has {b} rows; one partner row per batch row.", nameof(partnerRows));
        for (int i = 0; i < partnerRows.Count; i++)
            if (partnerRows[i] < 0 || partnerRows[i] >= b + k)
                throw new ArgumentOutOfRangeException(nameof(partnerRows), partnerRows[i], $"Partner row {i} is {partnerRows[i]}; expected [0, {b + k}) (B = {b} batch rows + K = {k} outside partners).");
        Guard.Length(coefficients, b, nameof(coefficients), nameof(inputs));
        Guard.SameDevice(inputs, nameof(inputs), coefficients, nameof(coefficients));
        Guard.UnitInterval(coefficients, nameof(coefficients));
        RequireMixable(inputs, layer is null ? Layers : [layer], "Mixing", nameof(inputs));
        layer = UseLayer(layer);
        using var scope = NewDisposeScope();
        var rows = HostUpload.Int64(partnerRows.ToArray(), inputs.device);
        if (layer == InputLayer)
        {
            var pool = k > 0 ? torch.cat([inputs, outsidePartnerInputs!], 0) : inputs;
            return CheckRows(_model.call(Interpolation.Lerp(inputs, pool.index_select(0, rows), coefficients)), b, layer).MoveToOuterDisposeScope();
        }
        // one pass over the batch and its outside partners together: batch-norm layers before the mixing point see B + K
        // rows (not a separate pass of K, often 1 to 3, rows), and the hook keeps the B mixed rows
        var all = k > 0 ? torch.cat([inputs, outsidePartnerInputs!], 0) : inputs;
        if (layer == OutputLayer && _declared is not null) return AtDeclaredOutput(all, null, coefficients, rows, b).MoveToOuterDisposeScope();
        return Hidden(layer, null, all, coefficients, rows, b).MoveToOuterDisposeScope();
    }

    /// <summary>
    /// Runs the model on the mix of <paramref name="inputs"/> and <paramref name="partnerInputs"/> at <paramref name="layer"/>:
    /// returns logits for the B mixed samples.
    /// </summary>
    /// <param name="inputs">Batch inputs [B, ...].</param>
    /// <param name="partnerInputs">Partner inputs, same shape, device and dtype.</param>
    /// <param name="coefficients">Weights c [B] on the batch rows (e.g. from <see cref="ClassConditionalMixer.Coefficients(MixPlan, double, Tensor)"/>).</param>
    /// <param name="layer">The layer to mix at; null draws one with <see cref="ChooseLayer"/>.</param>
    /// <exception cref="ArgumentException">Integer inputs (token ids) where the call may mix at the input.</exception>
    /// <exception cref="InvalidOperationException">The chosen layer's hook did not fire, the model changed the batch dimension, or another thread is inside a call of this pass.</exception>
    public Tensor Run(Tensor inputs, Tensor partnerInputs, Tensor coefficients, string? layer = null)
    {
        using var use = _use.Enter();
        Guard.MinDims(inputs, 1, nameof(inputs));
        Guard.NotNull(partnerInputs, nameof(partnerInputs));
        Guard.Dims(coefficients, 1, nameof(coefficients));
        if (!inputs.shape.SequenceEqual(partnerInputs.shape))
            throw new ArgumentException($"'partnerInputs' has shape {Guard.Shape(partnerInputs)} but 'inputs' has {Guard.Shape(inputs)}; they must match.", nameof(partnerInputs));
        Guard.Length(coefficients, inputs.shape[0], nameof(coefficients), nameof(inputs));
        Guard.SameDevice(inputs, nameof(inputs), partnerInputs, nameof(partnerInputs));
        Guard.SameDevice(inputs, nameof(inputs), coefficients, nameof(coefficients));
        Guard.UnitInterval(coefficients, nameof(coefficients));
        RequireMixable(inputs, layer is null ? Layers : [layer], "Mixing", nameof(inputs));
        layer = UseLayer(layer);
        long b = inputs.shape[0];
        using var scope = NewDisposeScope();
        if (layer == InputLayer)
            return CheckRows(_model.call(Interpolation.Lerp(inputs, partnerInputs, coefficients)), b, layer).MoveToOuterDisposeScope();
        if (layer == OutputLayer && _declared is not null) return AtDeclaredOutput(inputs, partnerInputs, coefficients, null, b).MoveToOuterDisposeScope();
        return Hidden(layer, partnerInputs, inputs, coefficients, null, b).MoveToOuterDisposeScope();
    }

    /// <summary>
    /// Mixing at the output of a declared encoder (<see cref="IEncoderHead"/>): the partners' and the batch's
    /// representations from <see cref="IEncoderHead.Encode"/> (partners first, as the hooked passes run), mixed, then the
    /// head. The same numbers as the hooked form, without hooks.
    /// </summary>
    private Tensor AtDeclaredOutput(Tensor inputs, Tensor? partnerInputs, Tensor coefficients, Tensor? partnerRows, long b)
    {
        Tensor own, partners;
        if (partnerRows is not null)
        {
            var h = _declared!.Encode(inputs);   // [batch; outside partners]: every partner is a row of it
            own = h.shape[0] == b ? h : h.narrow(0, 0, b);
            partners = h.index_select(0, partnerRows);
        }
        else
        {
            using (DetachPartners ? torch.no_grad() : null) partners = _declared!.Encode(partnerInputs!);
            own = _declared.Encode(inputs);
            if (!own.shape.SequenceEqual(partners.shape))
                throw new InvalidOperationException($"The encoder's representation of the batch has shape {Guard.Shape(own)} but the partners' has {Guard.Shape(partners)}.");
        }
        LastLayer = OutputLayer;
        return CheckRows(_declared.Head.call(Interpolation.Lerp(own, partners, coefficients)), b, OutputLayer);
    }

    /// <summary>The two passes of hidden-layer mixing; without partner inputs only the batch pass (partners from the batch).</summary>
    private Tensor Hidden(string layer, Tensor? partnerInputs, Tensor inputs, Tensor coefficients, Tensor? partnerRows, long b)
    {
        _batchRows = b;
        _pending = layer;
        _coefficients = coefficients;
        _partnerRows = partnerRows;
        try
        {
            // Pass 1: the partners, up to the mixing layer (none when every partner is a batch row).
            _pass = Pass.Partners;
            _fired = false;
            bool stopped = partnerInputs is null;
            if (partnerInputs is not null)
            {
                try
                {
                    using var noGrad = DetachPartners ? torch.no_grad() : null;
                    WithHook(layer, () => _model.call(partnerInputs));
                }
                catch (PartnerPassComplete)
                {
                    stopped = true;
                }
                if (!_fired) throw NotFired(layer);
            }
            if (!stopped)
                throw new InvalidOperationException($"The partner pass reached the mixing layer '{layer}' but did not stop there: the model's forward (or a hook) " +
                    "caught the exception the mixed forward pass uses to end that pass, so the rest of the network ran on the partners and the step would " +
                    "silently differ. Do not catch all exceptions inside forward (catch specific types, or rethrow what you do not handle).");

            // Pass 2: the batch; at the mixing layer its representation is replaced by the mix.
            _pass = Pass.Batch;
            _fired = false;
            var logits = WithHook(layer, () => _model.call(inputs));
            if (!_fired) throw NotFired(layer);
            return CheckRows(logits, b, layer);
        }
        finally
        {
            _partnerRepresentation?.Dispose();
            _partnerRepresentation = null;
            _partnerRows = null;
            _pending = null;
            _coefficients = null;
            _pass = Pass.None;
        }
    }

    /// <summary>The layer of this call (drawn when null), checked against the candidates and recorded as <see cref="LastLayer"/>.</summary>
    /// <summary>
    /// Integer inputs (token ids) can be run, not interpolated: refused when <paramref name="layers"/> (the layers a call
    /// may mix at) include the input, before anything is drawn. The one check of the mixed pass and the mixing methods.
    /// </summary>
    /// <param name="inputs">The batch's inputs.</param>
    /// <param name="layers">The layers the call may mix at.</param>
    /// <param name="who">What mixes, for the message (e.g. "MixUp").</param>
    /// <param name="paramName">The argument to name.</param>
    /// <exception cref="ArgumentException">The inputs are not floating point and the input is among the layers.</exception>
    internal static void RequireMixable(Tensor inputs, IReadOnlyCollection<string> layers, string who, string paramName)
    {
        if (!inputs.is_floating_point() && layers.Contains(InputLayer))
            throw new ArgumentException($"{who} at '{InputLayer}' interpolates the inputs, but they have dtype {inputs.dtype} (token ids?): integer values cannot be interpolated. " +
                $"Mix a representation instead: at a hidden layer or at '{OutputLayer}' (MixingLayer.Output, the representation before the classifier head).", paramName);
    }

    private string UseLayer(string? layer)
    {
        layer ??= ChooseLayer();
        if (!Layers.Contains(layer))
            throw new ArgumentException($"Layer '{layer}' is not one of the candidates [{string.Join(", ", Layers)}].", nameof(layer));
        LastLayer = layer;
        return layer;
    }

    private static Tensor CheckRows(Tensor logits, long b, string layer)
    {
        if (logits.dim() == 0 || logits.shape[0] != b)
            throw new InvalidOperationException($"The model returned {(logits.dim() == 0 ? "a scalar" : logits.shape[0] + " rows")} after mixing at '{layer}', expected {b}; does a layer after the mixing point depend on the batch size?");
        return logits;
    }

    /// <summary>
    /// An explicit mixing point for a custom model: inside <c>Run</c>, at the chosen point, records the partners'
    /// representation (partner pass) or returns the mix (batch pass); everywhere else returns <paramref name="h"/>
    /// unchanged (as an alias).
    /// </summary>
    /// <param name="point">The point's name (declared in <c>explicitPoints</c>).</param>
    /// <param name="h">The representation at that point.</param>
    /// <exception cref="InvalidOperationException">Another thread's pass is pending (the model is shared between threads).</exception>
    public Tensor MixHere(string point, Tensor h)
    {
        ArgumentNullException.ThrowIfNull(point);
        Guard.NotNull(h, nameof(h));
        if (_pending is null) return h.alias();
        using var use = _use.Enter();   // a pass is pending: only its own thread may reach the point
        if (_pending != point || _fired || !_explicitPoints.Contains(point)) return h.alias();
        return AtMixingPoint(h);
    }

    private Tensor WithHook(string layer, Func<Tensor> pass)
    {
        if (!_modules.TryGetValue(layer, out var module)) return pass();
        var remover = layer == OutputLayer
            ? module.register_forward_pre_hook((_, input) => AtMixingPoint(input))
            : module.register_forward_hook((_, _, output) => AtMixingPoint(output));
        try
        {
            return pass();
        }
        finally
        {
            remover.remove();
        }
    }

    private Tensor AtMixingPoint(Tensor h)
    {
        // the hook is on the shared model during a pass: another thread's forward reaching it must not take the pass's state
        using var use = _use.Enter();
        if (_fired || _coefficients is null) return h;
        _fired = true;
        if (_pass == Pass.Partners)
        {
            _partnerRepresentation = h.alias().DetachFromDisposeScope();
            throw new PartnerPassComplete();
        }
        if (_partnerRows is not null)
        {
            // h holds the batch's B rows and then the K outside partners': every partner is a row of h; B mixed rows go on
            var own = h.shape[0] == _batchRows ? h : h.narrow(0, 0, _batchRows);
            return Interpolation.Lerp(own, h.index_select(0, _partnerRows), _coefficients);
        }
        if (!h.shape.SequenceEqual(_partnerRepresentation!.shape))
            throw new InvalidOperationException($"At layer '{_pending}' the batch's representation has shape {Guard.Shape(h)} but the partners' has {Guard.Shape(_partnerRepresentation)}.");
        return Interpolation.Lerp(h, _partnerRepresentation, _coefficients);
    }

    private InvalidOperationException NotFired(string layer) => new(_modules.ContainsKey(layer)
        ? $"The mixing hook on layer '{(layer == OutputLayer ? $"{OutputLayer}' (input of '{ClassifierName}')" : layer + "'")} did not fire. TorchSharp runs hooks only when a module is invoked " +
          "through call(); this model's forward() most likely calls .forward() on its children, or never uses that layer. " +
          "Fix the model to invoke submodules with .call(x), or mark the point in your forward with pass.MixHere(\"name\", h) and pass the name in explicitPoints."
        : $"The explicit mixing point '{layer}' was never reached: the model's forward must call pass.MixHere(\"{layer}\", h).");
}
