using GroupRobust.Data;
using GroupRobust.Groups;
using GroupRobust.Identification;
using GroupRobust.Randomness;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using TorchSharp;
using static TorchSharp.torch;
using GroupRobust.Models;

namespace GroupRobust.Methods;

/// <summary>
/// Deep Feature Reweighting (Kirichenko et al., ICLR 2023, "Last layer re-training is sufficient for robustness to
/// spurious correlations"): keep a trained model's features and refit only its last layer, an L1 logistic regression
/// (<see cref="L1LogisticRegression"/>) on group-balanced subsets, averaged over resamples.
/// </summary>
/// <remarks>
/// <para><see cref="OnValidation(TensorGroupDataset, TensorGroupDataset, SeedSource, DfrOptions?, ILogger?)"/> is the paper's DFR^Val_Tr, as the reference computes it: shuffle the validation
/// features; the first half scores, the second half fits; the fitting half is balanced (every group cut at random to the
/// smallest group's count) and standardised with its own mean and standard deviation; every C of the grid is fitted and
/// scored by worst-group accuracy on the scoring half; the first best C wins. Then the features are standardised with
/// the TRAINING features' statistics and <see cref="DfrOptions.Retrains"/> fresh balanced subsets of the whole
/// validation set are fitted with that C and their coefficients averaged. Validation group labels are used for fitting.</para>
/// <para><see cref="OnTraining"/> balances the TRAINING features by any <see cref="GroupAssignment"/> (inferred groups
/// need no group labels) and chooses C on the whole validation set by the given accuracy (the reference's DFR^Tr_Tr).</para>
/// <para>Everything runs on the features' device; randomness comes from the seed source ("dfr" stream).</para>
/// </remarks>
public static class Dfr
{
    /// <summary>DFR on validation (DFR^Val_Tr).</summary>
    /// <param name="trainFeatures">The training split's features (their mean and standard deviation standardise the final fit).</param>
    /// <param name="validationFeatures">The validation split's features, with group labels.</param>
    /// <param name="seeds">Seed source of the split and the resamples.</param>
    /// <param name="options">The C grid, resamples and solver; the reference defaults when null.</param>
    /// <param name="logger">Receives the tuning scores and the choice.</param>
    /// <exception cref="ArgumentException">The validation features have no group labels, or the feature dimensions differ.</exception>
    public static DfrResult OnValidation(TensorGroupDataset trainFeatures, TensorGroupDataset validationFeatures, SeedSource seeds, DfrOptions? options = null, ILogger? logger = null)
    {
        ArgumentNullException.ThrowIfNull(seeds);
        return OnValidation(trainFeatures, validationFeatures, seeds.Random("dfr"), options, logger);
    }

    /// <summary>
    /// <see cref="OnValidation(TensorGroupDataset, TensorGroupDataset, SeedSource, DfrOptions?, ILogger?)"/> drawing the
    /// split and the resamples from <paramref name="rng"/>. Internal: the reference-fixture test replays a transcription's
    /// shuffles through it.
    /// </summary>
    internal static DfrResult OnValidation(TensorGroupDataset trainFeatures, TensorGroupDataset validationFeatures, Random rng, DfrOptions? options, ILogger? logger)
    {
        ArgumentNullException.ThrowIfNull(trainFeatures);
        ArgumentNullException.ThrowIfNull(validationFeatures);
        options ??= new DfrOptions();
        options.Validate();
        logger ??= NullLogger.Instance;
        if (!validationFeatures.HasGroups)
            throw new ArgumentException("DFR on validation fits on group-balanced validation subsets; the validation features have no group labels.", nameof(validationFeatures));
        CheckDimensions(trainFeatures, validationFeatures, nameof(validationFeatures));
        int n = validationFeatures.Count;
        var order = Enumerable.Range(0, n).ToArray();
        Shuffling.Shuffle<int>(order, rng);
        var scoring = order[..(n / 2)];
        var fitting = order[(n / 2)..];
        var groups = validationFeatures.Groups.ToArray();
        var balancedFit = Balanced(fitting, groups, rng);
        if (scoring.Length == 0 || balancedFit.Length == 0) throw new ArgumentException($"The validation set ({n} samples) is too small to split in halves.", nameof(validationFeatures));

        var tuning = new List<(double C, double Score)>();
        using (var scope = NewDisposeScope())
        {
            var x = validationFeatures.Inputs;
            var fitX = x.index_select(0, Index(balancedFit, x.device));
            var (mean, std) = Moments(fitX, "validationFeatures");
            var fitZ = Standardise(fitX, mean, std);
            var fitY = Labels(validationFeatures, balancedFit, x.device);
            var scoreZ = Standardise(x.index_select(0, Index(scoring, x.device)), mean, std);
            foreach (var c in options.CGrid)
            {
                var head = L1LogisticRegression.Fit(fitZ, fitY, validationFeatures.Scheme.NumClasses, c, options.Solver, boundMagnitude: false);
                double score = WorstGroupAccuracy(head, scoreZ, validationFeatures, scoring);
                tuning.Add((c, score));
                logger.LogInformation("DFR tuning: C = {C}, worst-group accuracy on the scoring half {Score:P2}", c, score);
            }
        }
        double best = tuning.MaxBy(t => t.Score).C;   // first maximum: the largest C on ties, as the reference
        var final = FitAveraged(trainFeatures, validationFeatures, order, groups, best, options.Retrains, options, rng, out int perResample);
        logger.LogInformation("DFR: C = {C} chosen; {Retrains} balanced resamples of {Samples} validation samples averaged.", best, options.Retrains, perResample);
        return new DfrResult { Head = final, C = best, Tuning = tuning, LabelBudget = LabelBudget.ValidationGroupsForFitting, SamplesPerResample = perResample };
    }

    /// <summary>
    /// DFR on the training split (DFR^Tr_Tr) with any group assignment: balanced by <paramref name="trainGroups"/>, C chosen by
    /// <paramref name="selectByWorstGroup"/> (validation worst-group accuracy, which reads validation group labels) or by
    /// validation average accuracy (no group labels).
    /// </summary>
    /// <param name="trainFeatures">The training split's features.</param>
    /// <param name="trainGroups">Its groups, true or inferred (e.g. an error set or XRM's environments).</param>
    /// <param name="validationFeatures">The validation features C is chosen on (features from <see cref="FeatureExtractor"/>, or a view of them, e.g. <c>xrm.Validation.ApplyTo(features)</c>: then worst-group selection reads no group label).</param>
    /// <param name="seeds">Seed source of the resamples.</param>
    /// <param name="selectByWorstGroup">Choose C by validation worst-group accuracy (true) or average accuracy (false).</param>
    /// <param name="options">The C grid, resamples (the reference uses 10 here) and solver.</param>
    /// <param name="logger">Receives the tuning scores.</param>
    public static DfrResult OnTraining(TensorGroupDataset trainFeatures, GroupAssignment trainGroups, IGroupDataset validationFeatures, SeedSource seeds,
        bool selectByWorstGroup = true, DfrOptions? options = null, ILogger? logger = null)
    {
        ArgumentNullException.ThrowIfNull(trainFeatures);
        ArgumentNullException.ThrowIfNull(trainGroups);
        ArgumentNullException.ThrowIfNull(validationFeatures);
        ArgumentNullException.ThrowIfNull(seeds);
        trainGroups.EnsureMatches(trainFeatures, nameof(trainGroups));
        options ??= new DfrOptions { Retrains = 10 };
        options.Validate();
        logger ??= NullLogger.Instance;
        if (selectByWorstGroup && !validationFeatures.HasGroups)
            throw new ArgumentException("Choosing C by worst-group accuracy needs validation groups (labels, or inferred ones through GroupAssignment.ApplyTo); pass selectByWorstGroup: false.", nameof(validationFeatures));
        // any view of features works (a RegroupedView of XRM's inferred validation groups, a subset); read them once
        using var valInputs = validationFeatures.GetBatch(Enumerable.Range(0, validationFeatures.Count).Select(i => (long)i).ToArray());
        Internal.Guard.FiniteOnAnyDevice(trainFeatures.Inputs, nameof(trainFeatures));
        Internal.Guard.FiniteOnAnyDevice(valInputs.Inputs, nameof(validationFeatures));
        if (valInputs.Inputs.dim() != 2 || valInputs.Inputs.shape[1] != trainFeatures.Inputs.shape[1] || validationFeatures.Scheme.NumClasses != trainFeatures.Scheme.NumClasses)
            throw new ArgumentException($"The validation features {Internal.Guard.Shape(valInputs.Inputs)} ({validationFeatures.Scheme.NumClasses} classes) do not match the training features {Internal.Guard.Shape(trainFeatures.Inputs)} ({trainFeatures.Scheme.NumClasses} classes).", nameof(validationFeatures));
        var val = validationFeatures;
        var rng = seeds.Random("dfr");
        var all = Enumerable.Range(0, trainFeatures.Count).ToArray();
        var groups = trainGroups.Groups.ToArray();
        var tuning = new List<(double C, double Score)>();
        using (var scope = NewDisposeScope())
        {
            var x = trainFeatures.Inputs;
            var (mean, std) = Moments(x, "trainFeatures");
            var subset = Balanced(all, groups, rng);
            var fitZ = Standardise(x.index_select(0, Index(subset, x.device)), mean, std);
            var fitY = Labels(trainFeatures, subset, x.device);
            var valZ = Standardise(valInputs.Inputs.to(x.dtype, x.device), mean, std);
            var valIdx = Enumerable.Range(0, val.Count).ToArray();
            foreach (var c in options.CGrid)
            {
                var head = L1LogisticRegression.Fit(fitZ, fitY, trainFeatures.Scheme.NumClasses, c, options.Solver, boundMagnitude: false);
                double score = selectByWorstGroup ? WorstGroupAccuracy(head, valZ, val, valIdx) : Accuracy(head, valZ, val, valIdx);
                tuning.Add((c, score));
                logger.LogInformation("DFR (training data) tuning: C = {C}, validation {Criterion} {Score:P2}", c, selectByWorstGroup ? "worst-group" : "average", score);
            }
        }
        double best = tuning.MaxBy(t => t.Score).C;
        var final = FitAveraged(trainFeatures, trainFeatures, all, groups, best, options.Retrains, options, rng, out int perResample);
        // worst-group selection on inferred validation groups (XRM's protocol) reads no group label
        bool readsValidationGroups = selectByWorstGroup && validationFeatures is not RegroupedView { Inferred: true };
        var budget = (LabelBudget)Math.Max((int)trainGroups.TrainingBudget,
            readsValidationGroups ? (int)LabelBudget.ValidationGroupsForSelection : 0);
        return new DfrResult { Head = final, C = best, Tuning = tuning, LabelBudget = budget, SamplesPerResample = perResample };
    }

    /// <summary>Standardise with the training features' statistics, fit <paramref name="retrains"/> balanced resamples of <paramref name="pool"/>, average, fold the scaler in.</summary>
    private static LinearHead FitAveraged(TensorGroupDataset statistics, TensorGroupDataset data, int[] pool, int[] groups, double c, int retrains,
        DfrOptions options, Random rng, out int perResample)
    {
        using var scope = NewDisposeScope();
        var (mean, std) = Moments(statistics.Inputs, "trainFeatures");
        var z = Standardise(data.Inputs, mean, std);
        Tensor? weightSum = null, biasSum = null;
        perResample = 0;
        for (int r = 0; r < retrains; r++)
        {
            var subset = Balanced(pool, groups, rng);
            perResample = subset.Length;
            var index = Index(subset, z.device);
            var head = L1LogisticRegression.Fit(z.index_select(0, index), Labels(data, subset, z.device), data.Scheme.NumClasses, c, options.Solver, boundMagnitude: false);
            var w = head.WeightTensor(ScalarType.Float64, z.device);
            var b = head.BiasTensor(ScalarType.Float64, z.device);
            weightSum = weightSum is null ? w : weightSum + w;
            biasSum = biasSum is null ? b : biasSum + b;
        }
        var weight = weightSum! / retrains;
        var bias = biasSum! / retrains;
        // fold the standardisation in: w (x - m) / s + b = (w / s) x + (b - sum w m / s)
        var s64 = std.to(ScalarType.Float64);
        var m64 = mean.to(ScalarType.Float64);
        var raw = weight / s64;
        return LinearHead.FromTensors(raw, bias - (raw * m64).sum(1));
    }

    /// <summary>Every non-empty group of <paramref name="pool"/> cut at random (without replacement) to the smallest non-empty group's count.</summary>
    internal static int[] Balanced(int[] pool, int[] groups, Random rng)
    {
        var byGroup = pool.GroupBy(i => groups[i]).OrderBy(g => g.Key).Select(g => g.ToArray()).ToArray();
        if (byGroup.Length == 0) return [];
        int m = byGroup.Min(g => g.Length);
        var result = new List<int>(m * byGroup.Length);
        foreach (var members in byGroup)
        {
            var copy = members.ToArray();
            Shuffling.Shuffle<int>(copy, rng);
            result.AddRange(copy[..m]);
        }
        return result.Order().ToArray();
    }

    /// <summary>
    /// Mean and standard deviation per feature, in float64 whatever the features' dtype (float32 squares overflow from
    /// about 1.8e19). Features whose spread float64 cannot hold either are refused.
    /// </summary>
    private static (Tensor Mean, Tensor Std) Moments(Tensor x, string paramName)
    {
        var x64 = x.to(ScalarType.Float64);
        var mean = x64.mean([0], keepdim: true);
        var std = (x64 - mean).square().mean([0], keepdim: true).sqrt();
        if (!std.isfinite().all().ToBoolean() || !mean.isfinite().all().ToBoolean())
            throw new ArgumentException($"The features' spread overflows float64 (largest magnitude {x64.abs().max().ToDouble():G3}): they cannot be standardised; rescale them first.", paramName);
        return (mean, torch.where(std.gt(0), std, torch.ones_like(std)));   // scikit-learn: a constant feature keeps scale 1
    }

    /// <summary>(x - mean) / std computed in float64, returned in float32 (float64 for float64 features): standardised values fit in float32 whatever x's scale.</summary>
    private static Tensor Standardise(Tensor x, Tensor mean, Tensor std)
        => ((x.to(ScalarType.Float64) - mean) / std).to(x.dtype == ScalarType.Float64 ? ScalarType.Float64 : ScalarType.Float32);

    private static Tensor Index(int[] rows, Device device) => torch.tensor(rows.Select(i => (long)i).ToArray(), ScalarType.Int64, device);

    private static Tensor Labels(IGroupDataset data, int[] rows, Device device)
    {
        var labels = data.Labels.Span;
        var values = new long[rows.Length];
        for (int i = 0; i < rows.Length; i++) values[i] = labels[rows[i]];
        return torch.tensor(values, ScalarType.Int64, device);
    }

    private static int[] Predictions(LinearHead head, Tensor z)
    {
        using var scope = NewDisposeScope();
        return head.Logits(z).argmax(1).to(ScalarType.Int32).cpu().data<int>().ToArray();
    }

    /// <summary>Worst-group accuracy of the head on standardised features <paramref name="z"/> (rows <paramref name="rows"/> of <paramref name="data"/>).</summary>
    private static double WorstGroupAccuracy(LinearHead head, Tensor z, IGroupDataset data, int[] rows)
    {
        var predicted = Predictions(head, z);
        var labels = data.Labels.Span;
        var groups = data.Groups.Span;
        var correct = new long[data.Scheme.NumGroups];
        var total = new long[data.Scheme.NumGroups];
        for (int i = 0; i < rows.Length; i++)
        {
            int g = groups[rows[i]];
            total[g]++;
            if (predicted[i] == labels[rows[i]]) correct[g]++;
        }
        return Enumerable.Range(0, total.Length).Where(g => total[g] > 0).Min(g => (double)correct[g] / total[g]);
    }

    private static double Accuracy(LinearHead head, Tensor z, IGroupDataset data, int[] rows)
    {
        var predicted = Predictions(head, z);
        var labels = data.Labels.Span;
        int correct = 0;
        for (int i = 0; i < rows.Length; i++) if (predicted[i] == labels[rows[i]]) correct++;
        return (double)correct / rows.Length;
    }

    private static void CheckDimensions(TensorGroupDataset a, TensorGroupDataset b, string name)
    {
        Internal.Guard.FiniteOnAnyDevice(a.Inputs, "trainFeatures");
        Internal.Guard.FiniteOnAnyDevice(b.Inputs, name);
        if (a.Inputs.dim() != 2 || b.Inputs.dim() != 2 || a.Inputs.shape[1] != b.Inputs.shape[1])
            throw new ArgumentException($"The features must be [N, D] with the same D; got {Internal.Guard.Shape(a.Inputs)} and {Internal.Guard.Shape(b.Inputs)}.", name);
        if (a.Scheme.NumClasses != b.Scheme.NumClasses)
            throw new ArgumentException($"The feature sets have {a.Scheme.NumClasses} and {b.Scheme.NumClasses} classes.", name);
    }
}
