using System.Globalization;
using GroupRobust.Data;
using GroupRobust.Groups;
using GroupRobust.Identification;
using GroupRobust.Internal;
using GroupRobust.Randomness;
using GroupRobust.Sampling;
using TorchSharp;
using static TorchSharp.torch;

namespace GroupRobust.Methods;

/// <summary>
/// Invariant risk minimisation, IRMv1 (Arjovsky et al., 2019, "Invariant risk minimization"; SubpopBench's IRM): the
/// environments are the attribute values a of a <see cref="GroupAssignment"/> (g = y A + a: the spurious attribute for
/// true groups, the error-set side for an identifier's groups). Per batch, the loss is the mean over the environments
/// present of their cross entropy, plus lambda times the mean of their penalties ||d/ds CE(s z, y) at s = 1||^2, each
/// estimated without bias as the product of the derivative on the environment's even rows and on its odd rows. The
/// penalty weighs 1 for the first <see cref="IrmOptions.AnnealSteps"/> steps, then <see cref="IrmOptions.PenaltyWeight"/>.
/// </summary>
/// <remarks>
/// Follows SubpopBench's <c>IRM</c> (YyzHarry/SubpopBench, <c>learning/algorithms.py</c>), which follows DomainBed's.
/// The derivative is written in closed form, d/ds CE(s z, y) at s = 1 = mean_i (sum_c softmax(z_i)_c z_ic - z_iy), the
/// number the reference obtains with <c>autograd.grad(create_graph=True)</c>, so no double backward is needed. Deviations:
/// an environment with a single row in a batch adds its cross entropy but no penalty (the reference's odd half would be
/// empty and its loss NaN); and the optimizer is the caller's, so it is not reset when the weight changes (DomainBed
/// resets Adam there, SubpopBench does not). The step count is part of the method's state.
/// </remarks>
public sealed class IrmMethod : TrainingMethod
{
    private readonly GroupAssignment _environments;
    private long _steps;

    /// <summary>Creates the method.</summary>
    /// <param name="environments">The training split's groups, whose attribute values are the environments: true groups (<see cref="GroupAssignment.FromTrueGroups"/>) or inferred ones (an error set, EIIL's environments).</param>
    /// <param name="seeds">Seed source of the epoch orders.</param>
    /// <param name="options">lambda and the annealing steps; SubpopBench's defaults when null.</param>
    /// <exception cref="ArgumentOutOfRangeException">lambda is negative, NaN or infinite, or the annealing steps are negative.</exception>
    public IrmMethod(GroupAssignment environments, SeedSource seeds, IrmOptions? options = null)
        : base("irm", (environments ?? throw new ArgumentNullException(nameof(environments))).Labels, seeds)
    {
        Options = options ?? new IrmOptions();
        if (!(Options.PenaltyWeight >= 0 && double.IsFinite(Options.PenaltyWeight)))
            throw new ArgumentOutOfRangeException(nameof(options), Options.PenaltyWeight, "IrmOptions.PenaltyWeight must be a finite number of at least 0.");
        if (Options.AnnealSteps < 0)
            throw new ArgumentOutOfRangeException(nameof(options), Options.AnnealSteps, "IrmOptions.AnnealSteps must be at least 0.");
        _environments = environments;
        ReadsGroups(environments);
        int n = environments.Count;
        UseSampler(seed => new ShuffleSampler(n, seed));
        Track("irm/", new ResumablePart(
            (values, prefix) => values[prefix + "steps"] = [_steps],
            (values, prefix) =>
            {
                double steps = StateEntries.Get(values, prefix + "steps", 1, "this IRM method")[0];
                if (!(steps >= 0 && steps <= 1L << 53 && steps == Math.Floor(steps)))
                    throw new ArgumentException(string.Create(CultureInfo.InvariantCulture, $"The state's IRM step count is {steps}; expected a whole number of at least 0."), "state");
                return () => _steps = (long)steps;
            }));
    }

    /// <summary>The options in use.</summary>
    public IrmOptions Options { get; }

    /// <summary>Loss steps taken so far (the penalty weighs lambda from step <see cref="IrmOptions.AnnealSteps"/> on, counted from 0).</summary>
    public long Steps => _steps;

    /// <inheritdoc />
    public override string Name
    {
        get
        {
            string name = string.Create(CultureInfo.InvariantCulture, $"IRM (λ={Options.PenaltyWeight:G})");
            return _environments.Source == GroupSource.TrueLabels ? name : $"{name[..^1]}, {_environments.Metadata.Method} environments)";
        }
    }

    /// <inheritdoc />
    public override LabelBudget LabelBudget => _environments.TrainingBudget;

    /// <inheritdoc />
    protected override Tensor BatchLoss(nn.Module<Tensor, Tensor> model, Batch batch)
    {
        var logits = model.call(batch.Inputs).to(ScalarType.Float32);
        var labels = batch.Labels.to(ScalarType.Int64);
        var perRowCe = nn.functional.cross_entropy(logits, labels, reduction: nn.Reduction.None);
        // d/ds CE(s z_i, y_i) at s = 1, per row: sum_c softmax(z_i)_c z_ic - z_iy
        var slope = logits.softmax(1).mul(logits).sum(1).sub(logits.gather(1, labels.unsqueeze(1)).squeeze(1));
        var environments = AttributeEnvironments.Rows(batch.Indices, _environments);
        Tensor nll = torch.zeros([], ScalarType.Float32, logits.device), penalty = torch.zeros([], ScalarType.Float32, logits.device);
        foreach (var rows in environments)
        {
            nll = nll.add(perRowCe.index_select(0, HostUpload.Int64(rows, logits.device)).mean());
            if (rows.Length < 2) continue;
            var even = HostUpload.Int64(rows.Where((_, k) => k % 2 == 0).ToArray(), logits.device);
            var odd = HostUpload.Int64(rows.Where((_, k) => k % 2 == 1).ToArray(), logits.device);
            penalty = penalty.add(slope.index_select(0, even).mean().mul(slope.index_select(0, odd).mean()));
        }
        // a repeat evaluates the step the last Loss took (and counted)
        long step = Repeating ? _steps - 1 : _steps++;
        double weight = step >= Options.AnnealSteps ? Options.PenaltyWeight : 1.0;
        return nll.add(penalty.mul(weight)).div(environments.Count);
    }
}
