using System.Globalization;
using GroupRobust.Catalog;
using GroupRobust.Data;
using GroupRobust.Evaluation;
using GroupRobust.Groups;
using GroupRobust.Identification;
using GroupRobust.Internal;
using GroupRobust.Methods;
using GroupRobust.Randomness;
using GroupRobust.Training;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace GroupRobust.Recipes;

/// <summary>
/// The two-phase recipe of JTT and JM1, owned by the library: phase I (ERM, keeping the weights of every candidate
/// epoch T), identification with any identifier of the catalog, T chosen by a selection rule, and phase II with any
/// method of the catalog, every run from the same initialisation and through the ready loop (validation every epoch, the
/// best epoch's weights kept). <see cref="Run"/> does all of it in one call; every step is also callable on its own
/// (<see cref="TrainPhaseOne"/>, <see cref="Identify(PhaseOne, IdentifierEntry?, object?, bool)"/>, <see cref="Train"/>),
/// so a study can train phase I once and feed its groups to many methods.
/// </summary>
/// <remarks>
/// Randomness: the model factory receives the seed <c>seeds.Derive("model-init")</c> for every run (LfF's second
/// network "lff-biased-init"); a method's streams come from <c>seeds.Child(name)</c>, its name defaulting to the
/// catalog key; phase I's from <c>seeds.Child("erm")</c>; an identifier's from <c>seeds.Child(key)</c>. The same seed
/// source gives the same numbers. Label budgets: every run reports the group labels it read, its groups' identification included.
/// </remarks>
/// <example>
/// <code>
/// var recipe = new TwoPhaseRecipe(data, NewModel, p =&gt; torch.optim.Adam(p, 1e-3), new SeedSource(1), new RecipeOptions { Phase1Epochs = 2, Epochs = 4 });
/// using var jm1 = recipe.Run(MethodCatalog.Jm1);
/// Console.WriteLine(evaluator.Evaluate(jm1.Model, data.Test));
/// </code>
/// </example>
public sealed class TwoPhaseRecipe
{
    private readonly DatasetSplits _data;
    private readonly Func<long, nn.Module<Tensor, Tensor>> _newModel;
    private readonly Func<IEnumerable<Parameter>, OptimizerHelper> _newOptimizer;
    private readonly SeedSource _seeds;
    private readonly ILoggerFactory? _loggers;
    private readonly ILogger _log;

    /// <summary>Creates the recipe.</summary>
    /// <param name="data">Training, validation and test splits (validation with group labels for the default rules).</param>
    /// <param name="newModel">Builds a classifier initialised from the given seed, e.g. <c>seed =&gt; { torch.random.manual_seed(seed); return MyNet(); }</c>.</param>
    /// <param name="newOptimizer">Builds the optimizer of a run over the given parameters.</param>
    /// <param name="seeds">The seed source every run derives from.</param>
    /// <param name="options">Epochs, phase I's length, batch sizes, selection rules; defaults when null.</param>
    /// <param name="loggers">Creates the loggers of the recipe, the methods and the identifiers; none when null.</param>
    /// <exception cref="ArgumentNullException">An argument, or a required option, is null.</exception>
    /// <exception cref="ArgumentOutOfRangeException">An option is out of range.</exception>
    public TwoPhaseRecipe(DatasetSplits data, Func<long, nn.Module<Tensor, Tensor>> newModel, Func<IEnumerable<Parameter>, OptimizerHelper> newOptimizer, SeedSource seeds,
        RecipeOptions? options = null, ILoggerFactory? loggers = null)
    {
        ArgumentNullException.ThrowIfNull(data);
        ArgumentNullException.ThrowIfNull(newModel);
        ArgumentNullException.ThrowIfNull(newOptimizer);
        ArgumentNullException.ThrowIfNull(seeds);
        Options = options ?? new RecipeOptions();
        Options.Validate();
        _data = data;
        _newModel = newModel;
        _newOptimizer = newOptimizer;
        _seeds = seeds;
        _loggers = loggers;
        _log = loggers?.CreateLogger("Recipe") ?? NullLogger.Instance;
    }

    /// <summary>The options in use.</summary>
    public RecipeOptions Options { get; }

    /// <summary>
    /// The validation results, by epoch, of the last phase I this recipe trained for at least <see cref="RecipeOptions.Epochs"/>
    /// epochs (the ERM baseline), or null: what a method without groups must beat (event 148).
    /// </summary>
    internal IReadOnlyDictionary<int, EvaluationResult>? ErmBaseline { get; set; }

    /// <summary>
    /// The whole recipe: phase I, identification with <paramref name="identifier"/> at the T the identification rule
    /// chooses, and <paramref name="method"/> trained on those groups. By default a method trains on the groups it is
    /// published with (<see cref="MethodEntry.PublishedGroups"/>): JTT and JM1 on the phase-I error set, GroupDRO and LISA
    /// on the true groups (which reads training group labels); a method that takes no groups trains alone. The run warns
    /// as <see cref="Train"/> does (its phase I is the recipe's ERM baseline only if it trains as long as phase II).
    /// </summary>
    /// <remarks>
    /// Without group labels on the validation split, an identification rule that reads them cannot choose T. A method on
    /// phase-I groups then trains at every candidate T, and T is chosen together with the epoch under
    /// <see cref="RecipeOptions.Selection"/> (<see cref="SelectionRule.Auto"/> resolves to validation average accuracy):
    /// <see cref="TrainJointly"/>, the JM1 paper's no-labels protocol with T chosen on validation as well. No group label
    /// is read, and the run's budget says so. It costs one phase-II run per candidate T, and it is logged (event 105).
    /// Options that upsample the minority side (JTT at lambda != 0, JM1+) skip a T whose minority side holds half or more
    /// of some class, as every search does. For JM1 on four benchmarks this choice was above ERM, where a fixed T = 2 or 3
    /// fell below it on two (docs/results.md, "No group labels: T chosen on validation average accuracy"). An
    /// identification rule that reads no label (<see cref="SelectionRule.AverageAccuracy"/>,
    /// <see cref="SelectionRule.FixedEpoch"/>) is followed as given, and so is a fixed-epoch <see cref="RecipeOptions.Selection"/>
    /// (which cannot compare runs): one run at T by validation average accuracy, with a warning (event 151).
    /// </remarks>
    /// <param name="method">The phase-II method, e.g. <see cref="MethodCatalog.Jm1"/>.</param>
    /// <param name="identifier">How groups are identified (default: the method's published groups, else <see cref="MethodCatalog.Misclassified"/>).</param>
    /// <param name="methodOptions">
    /// The method's options (its entry's options type). When null, the method's published protocol: for a method with a
    /// <see cref="MethodEntry.PublishedGrid"/> on groups from phase I (JTT, SPARE's sampling), every candidate T with every grid options,
    /// chosen together on validation (<see cref="TrainGrid(MethodEntry, IdentifiedGroups, IReadOnlyList{object?}, string?)"/>),
    /// and on an identifier's groups without phase I, every grid options;
    /// for one that takes no groups (MixUp, CVaR-DRO, the focal loss, LDAM, LfF, the balanced softmax), every grid options, chosen on validation
    /// (<see cref="TrainGrid(MethodEntry, IReadOnlyList{object?}, string?)"/>: the recipe's ERM, a plain model, when the
    /// method's off setting wins; LfF's pair of networks otherwise); both unless
    /// <see cref="RecipeOptions.SearchPublishedGrid"/> is false. Otherwise its default options at the T the identification
    /// rule chooses. Pass the entry's default options (<c>new LffOptions()</c>) for the single run at them.
    /// </param>
    /// <exception cref="ArgumentException"><paramref name="methodOptions"/> is not of the entry's options type (checked before phase I).</exception>
    /// <exception cref="InvalidOperationException">The run was refused: JTT's automatic lambda on an error set that is no minority of some class, or a search whose every setting upsamples such a set.</exception>
    public TwoPhaseResult Run(MethodEntry method, IdentifierEntry? identifier = null, object? methodOptions = null)
    {
        ArgumentNullException.ThrowIfNull(method);
        method.CheckOptions(methodOptions, nameof(methodOptions));
        identifier ??= method.PublishedGroups ?? MethodCatalog.Misclassified;
        var baseline = ErmBaseline;   // a failed call leaves the recipe's ERM baseline as it was
        var phaseOne = method.TakesGroups && identifier.Input == IdentifierInput.PhaseOneModel ? TrainPhaseOne() : null;
        bool grid = methodOptions is null && Options.SearchPublishedGrid && method.PublishedGrid.Count > 0;
        try
        {
            // no validation group labels for the identification rule: T is chosen with the epoch, reading none (remarks)
            bool jointT = !grid && phaseOne is not null && phaseOne.Candidates.Count > 1 && RuleLacksValidationGroups(Options.IdentificationRule, phaseOne.CandidateHistory)
                && Options.Selection.Resolve(phaseOne.CandidateHistory) is not FixedEpochRule;   // a fixed epoch scores every run alike
            if (jointT) Log.TChosenWithEpoch(_log, method.Name, Options.Selection.Resolve(phaseOne!.CandidateHistory).Name, phaseOne.Candidates.Count);
            var groups = !method.TakesGroups ? null : phaseOne is null ? Identify(identifier) : Identify(phaseOne, identifier, null, everyCandidate: grid || jointT, quiet: grid || jointT);
            var run = jointT ? TrainJointly(method, groups!, methodOptions)
                : !grid ? Train(method, groups, methodOptions)
                : method.TakesGroups ? TrainGrid(method, groups!, method.PublishedGrid)
                : TrainGrid(method, method.PublishedGrid);
            return new TwoPhaseResult(phaseOne, groups, run);
        }
        catch
        {
            ErmBaseline = baseline;
            phaseOne?.Dispose();
            throw;
        }
    }

    /// <summary>
    /// Phase I: ERM from the common initialisation for <paramref name="epochs"/> epochs (default
    /// <see cref="RecipeOptions.Phase1Epochs"/>), keeping the weights of epochs 1..Phase1Epochs (the candidates T) and of the
    /// last epoch. Train it for <see cref="RecipeOptions.Epochs"/> to use it as the ERM baseline as well: the recipe then
    /// keeps its validation results, and a method without groups trained afterwards is compared with them (<see cref="Train"/>).
    /// </summary>
    /// <param name="epochs">Epochs of the run, at least <see cref="RecipeOptions.Phase1Epochs"/>.</param>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="epochs"/> is below <see cref="RecipeOptions.Phase1Epochs"/>.</exception>
    public PhaseOne TrainPhaseOne(int? epochs = null)
    {
        int total = epochs ?? Options.Phase1Epochs;
        if (total < Options.Phase1Epochs)
            throw new ArgumentOutOfRangeException(nameof(epochs), total, $"Phase I must train at least the {Options.Phase1Epochs} candidate epochs (RecipeOptions.Phase1Epochs).");
        var snapshots = new SortedDictionary<int, Dictionary<string, Tensor>>();
        Dictionary<string, Tensor>? final = null;
        var model = MethodCatalog.Erm.CreateModel(_newModel, _seeds);
        try
        {
            using var method = MethodCatalog.Erm.Create(new MethodRequest { Train = _data.Train, Seeds = _seeds.Child(MethodCatalog.Erm.Key) });
            // phase I's own best epoch follows the selection rule; a fixed epoch beyond phase I means its last epoch
            var selection = Options.Selection is FixedEpochRule { Epoch: var k } && k > total ? SelectionRule.FixedEpoch(total) : null;
            var history = Fit(method, model, MethodCatalog.Erm.Step, null, selection, total, report =>
            {
                if (report.Epoch <= Options.Phase1Epochs) snapshots[report.Epoch] = PhaseOne.Copy(model);
                if (report.Epoch == total) final = PhaseOne.Copy(model);
            });
            var phaseOne = new PhaseOne(new RecipeRun(method.Name, model, history, history.LabelBudget, null), snapshots, final!, () => _newModel(_seeds.Derive(MethodEntry.ModelInitStream)), _data.Train);
            if (total >= Options.Epochs) ErmBaseline = history.ValidationHistory.ToDictionary(e => e.Epoch, e => e.Result);   // a shorter ERM is no baseline
            return phaseOne;
        }
        catch
        {
            model.Dispose();
            foreach (var state in snapshots.Values.Append(final ?? []))
                foreach (var t in state.Values) t.Dispose();
            throw;
        }
    }

    /// <summary>
    /// Identification from phase I: T chosen from phase I's validation results by <see cref="RecipeOptions.IdentificationRule"/>,
    /// then the identifier run on the model of epoch T (or of every candidate, with <paramref name="everyCandidate"/>).
    /// When the rule reads validation group labels and the validation split has none, T is chosen by validation average
    /// accuracy instead, with a warning (event 151), and the budget is none; <see cref="TrainJointly"/> chooses T with the
    /// phase-II epoch instead (what <see cref="Run"/> does then).
    /// </summary>
    /// <param name="phaseOne">Phase I's run.</param>
    /// <param name="identifier">An identifier that reads a phase-I model (default <see cref="MethodCatalog.Misclassified"/>).</param>
    /// <param name="options">The identifier's options; its defaults when null.</param>
    /// <param name="everyCandidate">Identify at every candidate T as well (for quality reports and JTT's joint protocol, <see cref="TrainJointly"/>).</param>
    /// <exception cref="ArgumentException">The identifier does not read a phase-I model, or phase I was trained on another training split (another recipe's data).</exception>
    /// <exception cref="ObjectDisposedException">Phase I was disposed.</exception>
    public IdentifiedGroups Identify(PhaseOne phaseOne, IdentifierEntry? identifier = null, object? options = null, bool everyCandidate = false)
        => Identify(phaseOne, identifier, options, everyCandidate, quiet: false);

    /// <summary><see cref="Identify(PhaseOne, IdentifierEntry?, object?, bool)"/>; <paramref name="quiet"/>: no warning when T falls back to average accuracy for want of validation group labels (Run chooses T with the epoch instead: jointly, or in its grid search).</summary>
    private IdentifiedGroups Identify(PhaseOne phaseOne, IdentifierEntry? identifier, object? options, bool everyCandidate, bool quiet)
    {
        ArgumentNullException.ThrowIfNull(phaseOne);
        phaseOne.EnsureAlive();
        var trainedOn = phaseOne.TrainedOn;
        if (!ReferenceEquals(trainedOn, _data.Train)
            && (trainedOn.Count != _data.Train.Count || !trainedOn.Labels.Span.SequenceEqual(_data.Train.Labels.Span)))
            throw new ArgumentException($"Phase I was trained on another training split ({trainedOn.Count} samples) than this recipe's ({_data.Train.Count}, " +
                $"{(trainedOn.Count == _data.Train.Count ? "other labels" : "another size")}): its epochs and weights say nothing about this data. Train phase I with this recipe (TrainPhaseOne).", nameof(phaseOne));
        identifier ??= MethodCatalog.Misclassified;
        if (identifier.Input != IdentifierInput.PhaseOneModel)
            throw new ArgumentException($"{identifier.Name} does not read a phase-I model; call Identify(identifier) without phase I.", nameof(identifier));
        var (choice, ruleBudget) = ChooseEpoch(phaseOne.CandidateHistory, quiet);
        var candidates = new SortedDictionary<int, GroupAssignment>();
        foreach (var t in everyCandidate ? phaseOne.Candidates : [choice.Epoch])
        {
            using var model = phaseOne.ModelAt(t);
            candidates[t] = identifier.Create(new IdentifierRequest { Model = model, Epoch = t, Seeds = _seeds.Child(identifier.Key), Options = options, Loggers = _loggers })
                .Identify(_data.Train.WithoutGroupLabels());
        }
        return new IdentifiedGroups
        {
            Identifier = identifier.Name, Candidates = candidates, Choice = choice, Groups = candidates[choice.Epoch],
            LabelBudget = Max(ruleBudget, identifier.LabelBudget), IdentifierLabelBudget = identifier.LabelBudget,
            PhaseOneValidation = phaseOne.Run.History.ValidationHistory.ToDictionary(e => e.Epoch, e => e.Result),
        };
    }

    /// <summary>
    /// Identification without phase I: an identifier that trains its own models (XRM, which also infers the validation
    /// split's groups; SSA, which fits on the validation split's group labels) or reads the true groups (an oracle).
    /// </summary>
    /// <param name="identifier">The identifier.</param>
    /// <param name="options">Its options; its defaults when null.</param>
    /// <exception cref="ArgumentException">The identifier reads a phase-I model (use the overload with <see cref="PhaseOne"/>).</exception>
    public IdentifiedGroups Identify(IdentifierEntry identifier, object? options = null)
    {
        ArgumentNullException.ThrowIfNull(identifier);
        if (identifier.Input == IdentifierInput.PhaseOneModel)
            throw new ArgumentException($"{identifier.Name} reads a phase-I model: train phase I first (TrainPhaseOne) and pass it.", nameof(identifier));
        var seeds = _seeds.Child(identifier.Key);
        int twin = 0;
        var instance = identifier.Create(new IdentifierRequest
        {
            Seeds = seeds, Options = options, Loggers = _loggers,
            NewModel = () => _newModel(seeds.Derive($"twin-{twin++}")), NewOptimizer = _newOptimizer,
            Validation = identifier.Input == IdentifierInput.ValidationGroups ? _data.Validation : null,
        });
        GroupAssignment train;
        GroupAssignment? validation = null;
        if (instance is IValidationIdentifier both) (train, validation) = both.Identify(_data.Train.WithoutGroupLabels(), _data.Validation.WithoutGroupLabels());
        else train = instance.Identify(identifier.Input == IdentifierInput.TrueGroups ? _data.Train : _data.Train.WithoutGroupLabels());
        return new IdentifiedGroups
        {
            Identifier = identifier.Name, Candidates = new Dictionary<int, GroupAssignment> { [0] = train }, Groups = train, Validation = validation,
            LabelBudget = identifier.LabelBudget, IdentifierLabelBudget = identifier.LabelBudget,
        };
    }

    /// <summary>
    /// Trains <paramref name="method"/> from the common initialisation through the ready loop, on <paramref name="groups"/>
    /// when it takes groups. When the groups' identifier also inferred validation groups (XRM), the epoch is chosen on
    /// those (no group label read); otherwise on the validation split.
    /// </summary>
    /// <remarks>
    /// Warns when the run never beats phase I on validation worst-group accuracy: a method on groups, the best epoch of
    /// the phase I its groups came from, up to <see cref="RecipeOptions.Epochs"/> or T if later (event 144); a method
    /// without groups, the best epoch up to <see cref="RecipeOptions.Epochs"/> of the last phase I this recipe trained for
    /// at least <see cref="RecipeOptions.Epochs"/>, which is ERM from the same initialisation (event 148; none before such
    /// a <see cref="TrainPhaseOne"/>, none for ERM itself). Neither for a run that reads no group label.
    /// docs/bad-input.md lists the cases.
    /// </remarks>
    /// <param name="method">The method.</param>
    /// <param name="groups">Its groups (from <c>Identify</c>); required when the method takes groups, ignored otherwise.</param>
    /// <param name="options">The method's options; its defaults when null.</param>
    /// <param name="epoch">Train on the groups of this candidate T instead of the chosen one (a T fixed in advance: the rule that chose T is then not counted in the budget).</param>
    /// <param name="selection">Choose the epoch by this rule instead of <see cref="RecipeOptions.Selection"/>.</param>
    /// <param name="name">The name of the method's seed stream (default the entry's key): runs of one method under different names draw differently.</param>
    /// <exception cref="ArgumentException">The method takes groups and none were given, <paramref name="epoch"/> was not identified, or the options are not of the entry's options type.</exception>
    public RecipeRun Train(MethodEntry method, IdentifiedGroups? groups = null, object? options = null, int? epoch = null, SelectionRule? selection = null, string? name = null)
    {
        ArgumentNullException.ThrowIfNull(method);
        method.CheckOptions(options, nameof(options));
        selection?.EnsureFits(Options.Epochs, nameof(selection));
        if (method.TakesGroups && groups is null)
            throw new ArgumentException($"{method.Name} trains on groups: pass the groups from Identify.", nameof(groups));
        var run = TrainRun(method, groups, options, epoch, selection, name);
        try
        {
            WarnUnlessBeatsPhaseOne(method, run, groups, run.LabelBudget);
        }
        catch
        {
            run.Dispose();   // a logger that throws
            throw;
        }
        return run;
    }

    /// <summary>
    /// <see cref="Train"/> on checked arguments, without the warning of a run that never beats phase I: a search trains
    /// many runs and warns about the one it returns. With <paramref name="asErm"/> (a search's setting that trains as ERM does,
    /// <see cref="MethodEntry.TrainsAsErm"/>) the run is the recipe's ERM itself: ERM from the common initialisation on
    /// ERM's own seed stream (phase I's), whatever <paramref name="name"/>, so that a search that chooses it returns the
    /// same model as the recipe's ERM (the ERM baseline when phase I trains as long), not a second ERM with another data
    /// order; it keeps the method's options and name ("MixUp (a=0)") and the validation groups the method is selected on.
    /// </summary>
    private RecipeRun TrainRun(MethodEntry method, IdentifiedGroups? groups, object? options, int? epoch, SelectionRule? selection, string? name, bool asErm = false)
    {
        GroupAssignment? assignment = null;
        if (method.TakesGroups)
        {
            if (epoch is int t && !groups!.Candidates.ContainsKey(t))
                throw new ArgumentException($"No groups were identified at T = {t}; identified: {string.Join(", ", groups.Candidates.Keys)}.", nameof(epoch));
            assignment = epoch is int e ? groups!.Candidates[e] : groups!.Groups;
        }
        var trained = asErm ? MethodCatalog.Erm : method;
        var model = trained.CreateModel(_newModel, _seeds);
        try
        {
            var request = new MethodRequest { Train = _data.Train, Groups = assignment, Seeds = _seeds.Child(name ?? method.Key), Options = options, Loggers = _loggers };
            string? offName = null;
            if (asErm)
                using (var off = method.Create(request)) offName = off.Name;   // only its name: ERM trains
            using var instance = asErm ? MethodCatalog.Erm.Create(new MethodRequest { Train = _data.Train, Seeds = _seeds.Child(MethodCatalog.Erm.Key), Loggers = _loggers }) : method.Create(request);
            using var inferred = method.TakesGroups && groups!.Validation is { } v ? v.ApplyTo(_data.Validation) : null;
            var history = Fit(instance, model, trained.Step, inferred, selection, Options.Epochs, null, offName);
            var budget = method.TakesGroups ? Max(history.LabelBudget, epoch is null ? groups!.LabelBudget : groups!.IdentifierLabelBudget) : history.LabelBudget;
            int? usedT = method.TakesGroups ? epoch ?? groups!.Epoch : null;
            // a method trained with another optimizer step is named for it ("ERM (group-balanced) + SAM (ρ=0.05)"), so that
            // its rows are not merged with the plain method's
            string runName = offName ?? (method.Step.Name.Length == 0 ? history.Method : $"{history.Method} + {method.Step.Name}");
            return new RecipeRun(runName, model, history, budget, usedT, options, method.TakesGroups ? groups!.Identifier : null);
        }
        catch
        {
            model.Dispose();
            throw;
        }
    }

    /// <summary>
    /// JTT's own protocol: <paramref name="method"/> trained on the groups of every identified candidate T, and T chosen
    /// jointly with the phase-II epoch, as the pair with the best validation score (<see cref="IdentificationEpoch.ChooseJointly"/>).
    /// Reads validation group labels for selection under the worst-group rule, none under a rule that reads none
    /// (<see cref="SelectionRule.AverageAccuracy"/>: the JM1 paper's no-labels protocol with T chosen on validation too).
    /// <see cref="TrainGrid(MethodEntry, IdentifiedGroups, IReadOnlyList{object?}, string?)"/>
    /// searches the method's options as well. Options that upsample the minority side (JTT, JM1+) skip every T whose
    /// minority side holds half or more of some class, with a warning, as the grid does.
    /// </summary>
    /// <param name="method">The method (it must take groups).</param>
    /// <param name="groups">Groups identified at every candidate (<c>Identify(phaseOne, identifier, everyCandidate: true)</c>).</param>
    /// <param name="options">The method's options; its defaults when null.</param>
    /// <param name="name">The name of the method's seed stream (default the entry's key).</param>
    /// <returns>The run of the chosen T (the other runs are disposed).</returns>
    /// <exception cref="ArgumentException">The method takes no groups, the groups were not identified from phase I, or the options are not of the entry's options type.</exception>
    /// <exception cref="InvalidOperationException">The options upsample, and at every T the minority side holds half or more of some class (nothing is trained).</exception>
    public RecipeRun TrainJointly(MethodEntry method, IdentifiedGroups groups, object? options = null, string? name = null)
        => TrainSearch(method, groups, [options], name, nameof(options));

    /// <summary>
    /// JTT's protocol in full (Liu et al., 2021, Appendix: a grid over T and the upsampling factor, judged on validation):
    /// <paramref name="method"/> trained on the groups of every identified candidate T with every options of
    /// <paramref name="grid"/>, and (T, options, epoch) chosen together as the run and epoch with the best validation
    /// score under <see cref="RecipeOptions.Selection"/> (the first in the order T, then grid order, on ties). Every run
    /// starts from the common initialisation and draws from the same seed stream, so the runs differ only in T and the
    /// options. Costs |T| x |grid| phase-II runs; options that read no groups (JTT at lambda = 0, which trains as ERM does)
    /// train once, after all the others, as the recipe's ERM run itself (ERM's seed stream:
    /// <see cref="MethodEntry.TrainsAsErm"/>), and a setting that reads the groups is chosen over them only when its
    /// validation score is higher by more than one standard error (<see cref="RecipeOptions.OneStandardErrorRule"/>;
    /// strictly higher without it; ties go to ERM), and a warning says so when none is. A setting that upsamples the
    /// minority side (JTT at lambda != 0) is skipped, with a warning, at a T whose minority side holds half or more of
    /// some class: upsampling it would make it the class's majority (the guard of JTT's automatic lambda, applied to every
    /// search, which chooses without the caller; <see cref="Train"/> takes explicit options as given). Groups of an identifier
    /// without phase I (the GCE-biased model's errors, XRM's cross-mistakes) have no T: the grid alone is searched on
    /// them. At most two models are alive at a time. Reads validation group labels for selection (the worst-group rule),
    /// except on groups whose identifier also inferred the validation split's groups (XRM): every run is then chosen and
    /// compared on those, and no group label is read.
    /// </summary>
    /// <param name="method">The method (it must take groups), e.g. <see cref="MethodCatalog.Jtt"/>.</param>
    /// <param name="groups">Groups identified at every candidate (<c>Identify(phaseOne, identifier, everyCandidate: true)</c>), or an identifier's groups without phase I (<c>Identify(identifier)</c>).</param>
    /// <param name="grid">The options to search, at least one, each of the entry's options type (null: its defaults), e.g. <see cref="JttOptions.SearchGrid"/>.</param>
    /// <param name="name">The name of the method's seed stream (default the entry's key).</param>
    /// <returns>The chosen run: its <see cref="RecipeRun.Name"/> names its options (JTT: "JTT (λ=50)"), its <see cref="RecipeRun.IdentificationEpoch"/> the chosen T.</returns>
    /// <exception cref="ArgumentException">The method takes no groups, the grid is empty, or an entry is not of the entry's options type.</exception>
    /// <exception cref="InvalidOperationException">Every setting upsamples, and at every T the minority side holds half or more of some class (nothing is trained).</exception>
    public RecipeRun TrainGrid(MethodEntry method, IdentifiedGroups groups, IReadOnlyList<object?> grid, string? name = null)
        => TrainSearch(method, groups, grid, name, nameof(grid), searchOnly: true);

    /// <summary>
    /// A method that takes no groups trained with every options of <paramref name="grid"/>, and (options, epoch) chosen
    /// together as the run and epoch with the best validation score under <see cref="RecipeOptions.Selection"/> (the first
    /// in grid order on ties): the hyper-parameter search that SubpopBench and the JTT paper run for their baselines, e.g.
    /// <c>recipe.TrainGrid(MethodCatalog.Mixup, MixupOptions.SearchGrid)</c>. Every run starts from the common
    /// initialisation and draws from the same seed stream, so the runs differ only in their options. Costs |grid| runs; at
    /// most two models are alive at a time. With the worst-group rule it reads validation group labels for selection, as
    /// a single run does. Options that train as ERM does (the method's off setting, which every published grid holds:
    /// MixUp at a = 0, c-MixUp without mixing, the focal loss at gamma = 0, LDAM at m = 0 with s = 1, the balanced softmax
    /// at tau = 0, CVaR-DRO at alpha = 1, LfF without reweighting) train after all the others, as the recipe's
    /// ERM run itself (ERM's seed stream, <see cref="MethodEntry.TrainsAsErm"/>: choosing them returns the recipe's ERM),
    /// and the method's best setting is chosen over them only when its validation score is higher by more than one
    /// standard error (<see cref="RecipeOptions.OneStandardErrorRule"/>; strictly higher without it; ties go to ERM), and
    /// a warning says so when it is not: on validation the method did not help. Otherwise it
    /// warns, for the run it returns, when that run never beats on validation worst-group accuracy the ERM baseline this
    /// recipe trained (phase I for at least <see cref="RecipeOptions.Epochs"/>), as <see cref="Train"/> does.
    /// </summary>
    /// <param name="method">The method (it must take no groups), e.g. <see cref="MethodCatalog.Mixup"/>.</param>
    /// <param name="grid">The options to search, at least one, each of the entry's options type (null: its defaults).</param>
    /// <param name="name">The name of the method's seed stream (default the entry's key).</param>
    /// <returns>The chosen run: its <see cref="RecipeRun.MethodOptions"/> are the chosen options, its name names them (MixUp: "MixUp (a=0.2)").</returns>
    /// <exception cref="ArgumentException">The method takes groups (use the overload with groups), the grid is empty, or an entry is not of the entry's options type.</exception>
    public RecipeRun TrainGrid(MethodEntry method, IReadOnlyList<object?> grid, string? name = null)
    {
        ArgumentNullException.ThrowIfNull(method);
        ArgumentNullException.ThrowIfNull(grid);
        if (method.TakesGroups)
            throw new ArgumentException($"{method.Name} ('{method.Key}') trains on groups: search its options with TrainGrid(method, groups, grid).", nameof(method));
        CheckGrid(method, grid, nameof(grid));
        return BestOfGrid(method, null, grid.Select(options => (T: (int?)null, Options: options)), LabelBudget.None, name);
    }

    /// <summary>
    /// The identifier chosen on validation: <paramref name="method"/> trained on each candidate's groups (at the T each
    /// was identified with), and the run whose selected model scores best on the validation split under
    /// <see cref="RecipeOptions.Selection"/> (the first candidate on ties). This is model selection, as JTT's grid over T
    /// (Liu et al., 2021) extended to the identifier: no identifier finds the minority on every dataset (docs/results.md,
    /// "Beyond the binary case"), and a wrong error set is seen on validation as a worse worst-group accuracy. Every run
    /// starts from the common initialisation and draws from the same seed stream, so the runs differ only in their
    /// groups. Costs one phase-II run per candidate; at most two models are alive at a time.
    /// </summary>
    /// <remarks>
    /// Label budget: the largest of every candidate's (each was read to choose) and the selection rule's on the
    /// validation split: with the worst-group rule, validation groups for selection, also when a candidate inferred
    /// validation groups of its own (XRM: its run chooses its epoch on those, but the candidates are compared on the
    /// validation split's annotated groups).
    /// </remarks>
    /// <param name="method">The method (it must take groups), e.g. <see cref="MethodCatalog.Jtt"/>.</param>
    /// <param name="candidates">At least one set of identified groups (from <c>Identify</c>), e.g. the phase-I error set, the GCE-biased model's errors and XRM's cross-mistakes.</param>
    /// <param name="options">The method's options; its defaults when null.</param>
    /// <param name="name">The name of the method's seed stream (default the entry's key).</param>
    /// <returns>The chosen run: its <see cref="RecipeRun.Identifier"/> names the identifier whose groups won.</returns>
    /// <exception cref="ArgumentException">The method takes no groups, <paramref name="candidates"/> is empty or holds a null, or the options are not of the entry's options type.</exception>
    public RecipeRun TrainOnBestGroups(MethodEntry method, IReadOnlyList<IdentifiedGroups> candidates, object? options = null, string? name = null)
    {
        ArgumentNullException.ThrowIfNull(method);
        ArgumentNullException.ThrowIfNull(candidates);
        if (!method.TakesGroups)
            throw new ArgumentException($"{method.Name} ('{method.Key}') takes no groups, so there is no identifier to choose; use Train.", nameof(method));
        if (candidates.Count == 0) throw new ArgumentException("No candidate groups: pass at least one (from Identify).", nameof(candidates));
        if (candidates.Any(c => c is null)) throw new ArgumentException($"Candidate {candidates.ToList().FindIndex(c => c is null)} is null.", nameof(candidates));
        method.CheckOptions(options, nameof(options));
        var budget = LabelBudget.None;
        double Score(RecipeRun run, IdentifiedGroups groups)
        {
            var (score, rule) = ValidationScore(run, groups);
            budget = Max(budget, Max(run.LabelBudget, rule.BudgetOn(_data.Validation)));   // every candidate's labels, whichever wins
            _log.LogInformation("{Method} on {Identifier}: validation score {Score:P1} ({Rule})", run.Name, run.Identifier, score, Options.Selection.Name);
            return score;
        }
        var (best, bestGroups) = BestRun(candidates, groups => TrainRun(method, groups, options, null, null, name), Score);
        using var chosen = best;
        WarnUnlessBeatsPhaseOne(method, chosen, bestGroups, budget);
        return chosen.WithBudget(budget);
    }

    /// <summary>
    /// A run's selected model's score on the validation split under the selection rule: from its history when it chose
    /// on that split; evaluated again when it chose on validation groups its identifier inferred (XRM), so that every
    /// candidate is judged on the same groups.
    /// </summary>
    private (double Score, SelectionRule Rule) ValidationScore(RecipeRun run, IdentifiedGroups groups)
    {
        IReadOnlyList<EpochResult> history = run.History.ValidationHistory;
        if (groups.Validation is not null)
        {
            using var evaluator = new WorstGroupEvaluator(_data.Validation.Scheme, Options.Selection.EvaluatorFor(Options.Evaluator));
            history = [new EpochResult(run.History.Best.Epoch, evaluator.Evaluate(run.Model, _data.Validation, Options.EvaluationBatchSize))];
        }
        return (Options.Selection.BestScore(history), Options.Selection.Resolve(history));
    }

    private RecipeRun TrainSearch(MethodEntry method, IdentifiedGroups groups, IReadOnlyList<object?> grid, string? name, string gridArgument, bool searchOnly = false)
    {
        ArgumentNullException.ThrowIfNull(method);
        ArgumentNullException.ThrowIfNull(groups);
        ArgumentNullException.ThrowIfNull(grid, gridArgument);
        if (!method.TakesGroups)
            throw new ArgumentException($"{method.Name} ('{method.Key}') takes no groups, so there is no T to choose jointly; use Train.", nameof(method));
        CheckGrid(method, grid, gridArgument);
        bool fromPhaseOne = groups.Choice is not null && groups.Candidates.Keys.All(t => t >= 1);
        if (!fromPhaseOne && !searchOnly)
            throw new ArgumentException($"The groups of {groups.Identifier} were not identified from phase I (candidates T: {string.Join(", ", groups.Candidates.Keys)}); identify with Identify(phaseOne, identifier, everyCandidate: true).", nameof(groups));
        // options that read no groups (JTT at lambda = 0: the recipe's ERM) train once, after every other setting, and a
        // setting that reads the groups is chosen over them only when better by more than the margin (BestOfGrid)
        IEnumerable<int?> ts = fromPhaseOne ? groups.Candidates.Keys.Order().Select(t => (int?)t) : [null];
        // the automatic lambda's guard for every search, which chooses without the caller: upsampling a minority side that
        // holds half or more of some class makes it that class's majority, so such settings are skipped at that T, saying so
        static string? NotAMinority(GroupAssignment g) => g.ClassesWithoutAMinority().Select(g.MinorityShareOfClass).FirstOrDefault();
        var notMinority = ts.ToDictionary(t => t ?? 0, t => NotAMinority(t is int k ? groups.Candidates[k] : groups.Groups));
        if (grid.Any(method.UpsamplesMinoritySide))
            foreach (var (t, share) in notMinority.Where(kv => kv.Value is not null))
                Log.SearchSkipsGroups(_log, method.Name, groups.Identifier, fromPhaseOne ? string.Create(CultureInfo.InvariantCulture, $" at T = {t}") : "", share!);
        var settings = (from t in ts from options in grid where !method.TrainsAsErm(options) && !(method.UpsamplesMinoritySide(options) && notMinority[t ?? 0] is not null) select (T: t, Options: options))
            .Concat(from options in grid where method.TrainsAsErm(options) select (T: fromPhaseOne ? groups.Epoch : null, Options: options)).ToList();
        if (settings.Count == 0)
            throw new InvalidOperationException($"{method.Name}'s search has no setting left: every setting upsamples the minority side of {groups.Identifier}, and " +
                $"{(fromPhaseOne ? "at every T" : "there")} it is no minority of some class ({string.Join("; ", notMinority.Select(kv => (fromPhaseOne ? $"T = {kv.Key}: " : "") + kv.Value))}). " +
                "Identify with another identifier, or add a setting that reads no groups (JTT's lambda = 0), or train the options explicitly with Train.");
        // T was chosen on validation together with the epoch; with a single candidate, T is the one the identification rule chose
        var identification = fromPhaseOne && groups.Candidates.Count > 1 ? groups.IdentifierLabelBudget : groups.LabelBudget;
        return BestOfGrid(method, groups, settings, identification, name);
    }

    /// <summary>A grid checked before any training: at least one options, each of the entry's options type (null: its defaults).</summary>
    private static void CheckGrid(MethodEntry method, IReadOnlyList<object?> grid, string gridArgument)
    {
        if (grid.Count == 0) throw new ArgumentException("The grid holds no options: pass at least one (null for the method's defaults).", gridArgument);
        foreach (var options in grid) method.CheckOptions(options, gridArgument);
    }

    /// <summary>
    /// The search both grids share (their grid checked by <see cref="CheckGrid"/> before any training): a run per setting
    /// (T, options) on <paramref name="groups"/> (null for a method without groups), the one with the best validation score
    /// kept, then weighed against the settings that train as ERM (trained last, as the recipe's ERM run: kept unless the
    /// method's best beats them by the margin of <see cref="RecipeOptions.OneStandardErrorRule"/>), and its budget: the
    /// largest of the run's, <paramref name="identification"/>'s and the selection rule's on the validation split.
    /// </summary>
    private RecipeRun BestOfGrid(MethodEntry method, IdentifiedGroups? groups, IEnumerable<(int? T, object? Options)> settings, LabelBudget identification, string? name)
    {
        var runs = settings.ToList();
        double Score(RecipeRun run) => Options.Selection.BestScore(run.History.ValidationHistory);
        RecipeRun Train((int? T, object? Options) c) => TrainRun(method, groups, c.Options, c.T, null, name, asErm: method.TrainsAsErm(c.Options));
        // the method's settings first, the best kept; then its off setting, the recipe's ERM (ERM's runs are the same in any order)
        var methodRuns = runs.Where(c => !method.TrainsAsErm(c.Options)).ToList();
        var offRuns = runs.Where(c => method.TrainsAsErm(c.Options)).ToList();
        var best = methodRuns.Count > 0 ? BestRun(methodRuns, Train, (run, _) => Score(run)).Run : null;
        RecipeRun kept;
        try
        {
            kept = offRuns.Count == 0 ? best! : Prefer(BestRun(offRuns, Train, (run, _) => Score(run)).Run);
        }
        catch
        {
            best?.Dispose();
            throw;
        }
        using var chosen = kept;
        // on groups whose identifier inferred the validation split's groups (XRM) every run was scored on those, and the
        // chosen run's budget already says what that read (none); otherwise the rule read the validation split's groups
        var selection = groups?.Validation is not null ? LabelBudget.None : Options.Selection.Resolve(chosen.History.ValidationHistory).BudgetOn(_data.Validation);
        var budget = Max(chosen.LabelBudget, Max(identification, selection));
        WarnUnlessBeatsPhaseOne(method, chosen, groups, budget);
        return chosen.WithBudget(budget);

        // the method's best setting against its off setting (ERM): the method only when better by more than the margin
        // (one standard error under RecipeOptions.OneStandardErrorRule), ERM on ties; the other run is disposed, and a
        // warning says when ERM is kept over a setting of the method
        RecipeRun Prefer(RecipeRun erm)
        {
            if (best is null) return erm;
            try
            {
                var history = best.History.ValidationHistory;
                var rule = Options.Selection.Resolve(history);
                double bestScore = Score(best), ermScore = Score(erm);
                double margin = Options.OneStandardErrorRule ? rule.StandardError(rule.Best(history).Result) ?? 0 : 0;
                if (bestScore - margin > ermScore)
                {
                    erm.Dispose();
                    return best;
                }
                // the margin is named where it decided: the best setting above ERM, by no more than it
                string by = margin > 0 && bestScore > ermScore ? string.Create(CultureInfo.InvariantCulture, $" by more than one standard error ({margin:P1})") : "";
                if (groups is not null) Log.GridChoseNoGroups(_log, method.Name, erm.Name, groups.Identifier, best.Name, bestScore, ermScore, by);
                else Log.GridChoseErm(_log, method.Name, erm.Name, best.Name, bestScore, ermScore, by);
                best.Dispose();
                return erm;
            }
            catch
            {
                erm.Dispose();
                throw;
            }
        }
    }

    /// <summary>
    /// Trains one run per setting in turn and keeps the one with the highest score (the first on ties), disposing every
    /// other as soon as it is beaten, so at most two models are alive; a run whose score cannot be read is disposed before
    /// the error propagates. At least one setting. Returns the kept run and its setting.
    /// </summary>
    private static (RecipeRun Run, T Setting) BestRun<T>(IEnumerable<T> settings, Func<T, RecipeRun> train, Func<RecipeRun, T, double> score)
    {
        RecipeRun? best = null;
        T bestSetting = default!;
        double bestScore = double.NegativeInfinity;
        try
        {
            foreach (var setting in settings)
            {
                var run = train(setting);
                double value;
                try
                {
                    value = score(run, setting);
                }
                catch
                {
                    run.Dispose();
                    throw;
                }
                if (best is null || value > bestScore)
                {
                    best?.Dispose();
                    (best, bestSetting, bestScore) = (run, setting, value);
                }
                else run.Dispose();
            }
            var chosen = best!;
            best = null;
            return (chosen, bestSetting);
        }
        finally
        {
            best?.Dispose();
        }
    }

    /// <summary>
    /// T by the identification rule, and the labels choosing it read. When the rule reads validation group labels and the
    /// split has none, T by validation average accuracy and no budget, with a warning unless <paramref name="quiet"/> (Run
    /// chooses T with the epoch instead). When validation shows no minority group to detect, T by validation average
    /// accuracy, with a warning (the fallback was decided from validation group labels, so the budget stays the rule's).
    /// </summary>
    private (EpochChoice Choice, LabelBudget Budget) ChooseEpoch(IReadOnlyList<EpochResult> history, bool quiet)
    {
        var rule = Options.IdentificationRule;
        if (RuleLacksValidationGroups(rule, history))
        {
            // the rule reads validation group labels and the split has none: T by the rule that reads none, saying so
            var byAverage = IdentificationEpoch.Choose(history, SelectionRule.AverageAccuracy, _log);
            if (!quiet && history.Count > 1) Log.NoValidationGroupsForT(_log, rule.Name, byAverage.Epoch);   // one candidate: no choice to make
            return (byAverage, LabelBudget.None);
        }
        if (rule is ValidationErrorSetRule { ScoresEachEpochAlone: false } && IdentificationEpoch.MinorityGroupsFromValidation(history).Count == 0)
        {
            var fallback = IdentificationEpoch.Choose(history, SelectionRule.AverageAccuracy, _log);
            _log.LogWarning("Phase I classifies every validation group equally well, so validation shows no minority group to detect; T = {Epoch} by validation average accuracy.", fallback.Epoch);
            return (fallback, rule.BudgetOn(_data.Validation));
        }
        var choice = IdentificationEpoch.Choose(history, rule, _log);
        return (choice, choice.Rule.BudgetOn(_data.Validation));
    }

    private TrainingHistory Fit(ITrainingMethod method, nn.Module<Tensor, Tensor> model, OptimizerStep step, IGroupDataset? validation, SelectionRule? selection, int epochs,
        Action<EpochReport>? afterEpoch, string? runName = null)
    {
        using var optimizer = _newOptimizer(model.parameters());
        return TrainingLoop.Run(method, model, optimizer, _data.Train, validation ?? _data.Validation, Options.Loop(step, selection, epochs),
            new InlineProgress(report =>
            {
                afterEpoch?.Invoke(report);
                Options.OnEpoch?.Invoke(runName ?? method.Name, report);
            }),
            _loggers?.CreateLogger("Training"));
    }

    private static LabelBudget Max(LabelBudget a, LabelBudget b) => (LabelBudget)Math.Max((int)a, (int)b);

    /// <summary>Whether <paramref name="rule"/>, as it resolves on <paramref name="history"/>, reads group labels that the validation split does not have.</summary>
    private bool RuleLacksValidationGroups(SelectionRule rule, IReadOnlyList<EpochResult> history)
        => !_data.Validation.HasGroups && rule.Resolve(history).BudgetOn(_data.Validation) != LabelBudget.None;

    /// <summary>
    /// Says so (a warning) when no epoch of a phase-II run reached a better validation worst-group accuracy than phase I's
    /// best epoch (<see cref="IdentifiedGroups.PhaseOneValidation"/> up to <see cref="RecipeOptions.Epochs"/>, as long as
    /// phase II trains: the ERM baseline when phase I trained as long, and never below the model at the T its groups came
    /// from): its groups did not help (an error set that is not the minority, a collapse). Both on the same validation
    /// split, with its true groups. Not for a run that chose its epoch on validation groups its identifier inferred
    /// (XRM), for options that train as ERM does (JTT at lambda = 0, MixUp at a = 0: a search that chose them says so itself), for a run
    /// that reads no group label (budget <see cref="LabelBudget.None"/>: T fixed, the epoch by validation average
    /// accuracy, which would be judged on validation groups it does not read), nor for groups that came from no phase-I model.
    /// </summary>
    private void WarnUnlessBeatsPhaseOne(MethodEntry method, RecipeRun run, IdentifiedGroups? groups, LabelBudget budget)
    {
        // a run that reads no group label (a fixed T, the epoch by validation average accuracy; its budget as returned to
        // the caller) is not judged on the validation groups it does not read: its log would say what they showed
        if (budget == LabelBudget.None) return;
        if (!method.TakesGroups)
        {
            WarnUnlessBeatsErm(method, run);
            return;
        }
        if (groups?.PhaseOneValidation is not { } phaseOne || groups.Validation is not null || run.IdentificationEpoch is not int t
            || method.TrainsAsErm(run.MethodOptions) || !phaseOne.TryGetValue(t, out var atT) || atT.WorstGroupAccuracy is not double atTAccuracy)
            return;
        // a longer phase I is no fair reference for phase II's epochs; T itself has a worst-group accuracy, so there is a best
        var (epoch, reference) = BestEpoch(phaseOne, Math.Max(Options.Epochs, t))!.Value;
        double best = BestWorstGroup(run);
        if (best <= reference)
            Log.PhaseTwoNeverBeatPhaseOne(_log, run.Name, groups.Identifier, best, epoch, reference, t, atTAccuracy);
    }

    /// <summary>
    /// For a method without groups (MixUp, CVaR-DRO, the focal loss, LfF, ...): says so (a warning) when no epoch of its run
    /// reached a better validation worst-group accuracy than the best epoch, up to <see cref="RecipeOptions.Epochs"/>, of
    /// the ERM baseline (<see cref="ErmBaseline"/>: the last phase I this recipe trained for at least as long; nothing to
    /// compare with before one). Not for ERM itself, nor for options that train as ERM does (MixUp at a = 0: a search that
    /// chose them says so itself).
    /// </summary>
    private void WarnUnlessBeatsErm(MethodEntry method, RecipeRun run)
    {
        if (ErmBaseline is not { } phaseOne || method == MethodCatalog.Erm || method.TrainsAsErm(run.MethodOptions) || BestEpoch(phaseOne, Options.Epochs) is not { } reference) return;
        var (epoch, accuracy) = reference;
        double best = BestWorstGroup(run);
        if (best <= accuracy)
            Log.MethodNeverBeatPhaseOne(_log, run.Name, best, epoch, accuracy);
    }

    /// <summary>
    /// The phase-I epoch up to <paramref name="last"/> with the best validation worst-group accuracy (the first on ties),
    /// or null when none up to it has one: what the guards compare a run with (and <see cref="LastLayerRecipe"/>'s, a base model's training).
    /// </summary>
    internal static (int Epoch, double Accuracy)? BestEpoch(IReadOnlyDictionary<int, EvaluationResult> phaseOne, int last)
    {
        var epochs = phaseOne.Where(kv => kv.Key <= last && kv.Value.WorstGroupAccuracy is not null).OrderBy(kv => kv.Key)
            .Select(kv => (Epoch: kv.Key, Accuracy: kv.Value.WorstGroupAccuracy!.Value)).ToList();
        return epochs.Count == 0 ? null : epochs.MaxBy(e => e.Accuracy);
    }

    /// <summary>A run's best validation worst-group accuracy over its epochs.</summary>
    private static double BestWorstGroup(RecipeRun run) => run.History.ValidationHistory.Max(e => e.Result.WorstGroupAccuracy ?? double.NegativeInfinity);

    /// <summary>Reports synchronously, on the training thread (Progress&lt;T&gt; would post to a synchronisation context).</summary>
    private sealed class InlineProgress(Action<EpochReport> report) : IProgress<EpochReport>
    {
        public void Report(EpochReport value) => report(value);
    }
}
