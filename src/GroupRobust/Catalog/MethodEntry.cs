using GroupRobust.Groups;
using GroupRobust.Identification;
using GroupRobust.Methods;
using GroupRobust.Randomness;
using GroupRobust.Training;
using Microsoft.Extensions.Logging;
using static TorchSharp.torch;

namespace GroupRobust.Catalog;

/// <summary>
/// One training method of the <see cref="MethodCatalog"/>: its key, its name and reference, whether it trains on groups,
/// its default options, the optimizer step it is published with, and the factory that builds it. Every suite (contract,
/// resume, leak, label budget), the Study, the recipes and the benchmarks build methods through entries, so a new method
/// joins all of them with its entry.
/// </summary>
public sealed class MethodEntry
{
    private readonly Func<MethodRequest, object, ITrainingMethod> _create;
    private readonly Func<Func<long, nn.Module<Tensor, Tensor>>, SeedSource, nn.Module<Tensor, Tensor>>? _model;

    private readonly string? _publishedGroups;
    private readonly Func<object, bool>? _trainsAsErm;
    private readonly Func<object, bool>? _upsamples;

    internal MethodEntry(string key, string name, string description, string reference, string? publishedGroups, object defaults,
        Func<MethodRequest, object, ITrainingMethod> create, OptimizerStep? step = null, Func<Func<long, nn.Module<Tensor, Tensor>>, SeedSource, nn.Module<Tensor, Tensor>>? model = null,
        IReadOnlyList<object>? publishedGrid = null, Func<object, bool>? trainsAsErm = null, Func<object, bool>? upsamples = null)
    {
        _publishedGroups = publishedGroups;
        _trainsAsErm = trainsAsErm;
        _upsamples = upsamples;
        PublishedGrid = publishedGrid ?? [];
        Key = key;
        Name = name;
        Description = description;
        Reference = reference;
        Defaults = defaults;
        _create = create;
        Step = step ?? OptimizerStep.Plain;
        _model = model;
    }

    /// <summary>The entry's key, e.g. "jm1" (lower case, stable: the Study's <c>--methods</c> and the tests use it).</summary>
    public string Key { get; }

    /// <summary>The method's name in tables, e.g. "JM1".</summary>
    public string Name { get; }

    /// <summary>One sentence on what the method does.</summary>
    public string Description { get; }

    /// <summary>The paper (and reference code) it follows.</summary>
    public string Reference { get; }

    /// <summary>
    /// Whether the method trains on a <see cref="GroupAssignment"/> (<see cref="MethodRequest.Groups"/>). It reads training
    /// group labels only when given the true groups; with an identifier's groups it reads none.
    /// </summary>
    public bool TakesGroups => _publishedGroups is not null;

    /// <summary>
    /// The identifier whose groups the method is published with: the phase-I error set (<see cref="MethodCatalog.Misclassified"/>)
    /// for JTT and JM1, the true groups (<see cref="MethodCatalog.TrueGroups"/>: training group labels) for GroupDRO, LISA and
    /// GroupJM1; null for a method that takes no groups. Any identifier's groups work with any method that takes groups.
    /// </summary>
    public IdentifierEntry? PublishedGroups => _publishedGroups is null ? null : MethodCatalog.Identifier(_publishedGroups);

    /// <summary>
    /// The options searched on validation by the method's published protocol, together with the identification epoch T
    /// for a method on phase-I groups: JTT's lambda in {20, 50, 100, 0} (<see cref="JttOptions.SearchGrid"/>: the JTT
    /// paper's grid and SubpopBench's lower end, no upsampling), CVaR-DRO's alpha in {0.1, 0.2, 0.5, 1}
    /// (<see cref="CvarDroOptions.SearchGrid"/>: the JTT paper's grid and the average loss), MixUp's alpha and the focal
    /// loss's gamma over SubpopBench's search ranges and 0 (<see cref="MixupOptions.SearchGrid"/>, <see cref="FocalOptions.SearchGrid"/>),
    /// c-MixUp's Beta(a, a) over MixUp's a (<see cref="MethodCatalog.ClassConditionalMixup"/>), LDAM's margin and scale
    /// over SubpopBench's search ranges and m = 0 with s = 1 (<see cref="LdamOptions.SearchGrid"/>), LfF's q over
    /// SubpopBench's search range and no reweighting (<see cref="LffOptions.SearchGrid"/>), the balanced softmax's scale
    /// tau in {0.5, 1, 2, 0} (<see cref="BalancedSoftmaxOptions.SearchGrid"/>: the library's grid, SubpopBench searches
    /// none for it). Every grid holds its
    /// method's off setting, which trains as ERM does (<see cref="TrainsAsErm"/>), so that a search can find that the
    /// method does not help, and says so; empty when none is published. <c>TwoPhaseRecipe.Run</c> follows this protocol when it is given no options
    /// (docs/results.md: on the Gaussian task and Spurious Fashion-MNIST JTT's grid beats both its automatic lambda and a
    /// fixed lambda = 20).
    /// </summary>
    public IReadOnlyList<object> PublishedGrid { get; }

    /// <summary>
    /// Whether a run with these options trains as ERM does, its method switched off by its own reference's setting (JTT
    /// at lambda = 0: no upsampling, so it trains the same whatever its groups; MixUp at a = 0 and c-MixUp at a constant
    /// weight of 1: no mixing; the focal loss at gamma = 0, LDAM at m = 0 with s = 1 and the balanced softmax at tau = 0:
    /// the cross-entropy; CVaR-DRO at alpha = 1: the average loss; LfF without reweighting: its debiased network on the
    /// cross-entropy).
    /// A search trains such options once (over T too), after every other setting, as the recipe's ERM run itself (ERM on
    /// ERM's seed stream, so that choosing them returns the recipe's ERM, not a second ERM with another data order): the
    /// method's best setting is chosen over them only when its validation score is higher by more than one standard error
    /// (<c>RecipeOptions.OneStandardErrorRule</c>; strictly higher without it; ties go to ERM), and the search says so
    /// when it is not; the guards that compare a run with phase I do not judge them.
    /// </summary>
    /// <param name="options">The method's options (null: its defaults).</param>
    internal bool TrainsAsErm(object? options) => _trainsAsErm is { } erm && erm(options ?? Defaults);

    /// <summary>
    /// Whether a run with these options upsamples the minority side of its groups (JTT and JM1+ at lambda != 0), which
    /// assumes that side is a minority of each class: a search skips such settings on groups where it is not.
    /// </summary>
    /// <param name="options">The method's options (null: its defaults).</param>
    internal bool UpsamplesMinoritySide(object? options) => _upsamples is { } upsamples && upsamples(options ?? Defaults);

    /// <summary>The default options (an immutable record of <see cref="OptionsType"/>).</summary>
    public object Defaults { get; }

    /// <summary>The type of the method's options.</summary>
    public Type OptionsType => Defaults.GetType();

    /// <summary>The optimizer step the method is published with (<see cref="OptimizerStep.Plain"/> for all but the SAM entries).</summary>
    public OptimizerStep Step { get; }

    /// <summary>Whether the method trains a model of its own shape built from the caller's classifiers (LfF's pair of networks): see <see cref="CreateModel"/>.</summary>
    public bool BuildsItsModel => _model is not null;

    /// <summary>The group labels a run of this method reads in training: the training split's when it is given the true groups, else none.</summary>
    /// <param name="groups">The groups it would be given (ignored when it takes none).</param>
    public LabelBudget TrainingBudget(GroupAssignment? groups) => TakesGroups && groups is not null ? groups.TrainingBudget : LabelBudget.None;

    /// <summary>Builds the method.</summary>
    /// <param name="request">The training split, the groups when the method takes them, the seeds, the options.</param>
    /// <exception cref="ArgumentNullException">The request, its training split or its seeds are null.</exception>
    /// <exception cref="ArgumentException">The method takes groups and none were given, or groups made for another split, or options not of <see cref="OptionsType"/>.</exception>
    public ITrainingMethod Create(MethodRequest request)
    {
        ArgumentNullException.ThrowIfNull(request);
        ArgumentNullException.ThrowIfNull(request.Train, "request.Train");
        ArgumentNullException.ThrowIfNull(request.Seeds, "request.Seeds");
        if (TakesGroups && request.Groups is null)
            throw new ArgumentException($"{Name} ('{Key}') trains on groups: set MethodRequest.Groups to an identifier's groups or to GroupAssignment.FromTrueGroups(train).", "request.Groups");
        if (TakesGroups) request.Groups!.EnsureMatches(request.Train, "request.Groups");
        return _create(request, EntryOptions.Resolve(request.Options, Defaults, $"{Name} ('{Key}')", "request.Options"));
    }

    /// <summary>Checks that <paramref name="options"/> (null for the defaults) is of <see cref="OptionsType"/>, before any work is done.</summary>
    /// <param name="options">The method's options, or null.</param>
    /// <param name="paramName">The argument to name in the exception.</param>
    /// <exception cref="ArgumentException">The options are of another type.</exception>
    internal void CheckOptions(object? options, string paramName) => EntryOptions.Resolve(options, Defaults, $"{Name} ('{Key}')", paramName);

    /// <summary>
    /// The model the method trains, from the caller's factory: the classifier initialised from the seed
    /// <paramref name="seeds"/>.Derive("model-init") (every method of a comparison then starts from the same weights), or
    /// (<see cref="BuildsItsModel"/>) a model made of several, such as LfF's pair, whose second network is initialised from
    /// "lff-biased-init".
    /// </summary>
    /// <param name="newModel">Builds one classifier initialised from the given seed (for example <c>torch.random.manual_seed(seed)</c>, then the layers).</param>
    /// <param name="seeds">The seed source of the run.</param>
    public nn.Module<Tensor, Tensor> CreateModel(Func<long, nn.Module<Tensor, Tensor>> newModel, SeedSource seeds)
    {
        ArgumentNullException.ThrowIfNull(newModel);
        ArgumentNullException.ThrowIfNull(seeds);
        return _model is null ? newModel(seeds.Derive(ModelInitStream)) : _model(newModel, seeds);
    }

    /// <summary>The seed stream every run's classifier is initialised from.</summary>
    public const string ModelInitStream = "model-init";

    /// <inheritdoc />
    public override string ToString() => $"{Key}: {Name}";

    internal static ILogger? Logger(MethodRequest request, string category) => request.Loggers?.CreateLogger(category);
}
