using GroupRobust.Catalog;

namespace GroupRobust.Study;

/// <summary>
/// One row of the study, from its <c>--methods</c> spec <c>[LASTLAYER/]METHOD[@IDENTIFIER][:LAYER]</c>: a training method
/// of the catalog on the groups of an identifier of the catalog (its published groups by default: the phase-I error set
/// for JTT and JM1, the true groups for GroupDRO and LISA), at a mixing layer, optionally with its last layer retrained by
/// a last-layer method; or a last-layer method alone (<c>dfr</c>: ERM's final model; <c>afr</c>: its own protocol). For
/// JTT the part after the colon is its lambda instead of a layer: <c>jtt:auto</c> (the reference's automatic value),
/// <c>jtt:20</c>, or <c>jtt:grid</c> (the library's JTT protocol: T and lambda in {20, 50, 100, 0} chosen together on
/// validation, <c>JttOptions.SearchGrid</c>; lambda alone on the groups of an identifier without phase I); for a
/// method without groups that publishes a grid, <c>:grid</c> searches it on validation (<c>cmixup:grid</c>, <c>mixup:grid</c>,
/// <c>cvar-dro:grid</c>, <c>lff:grid</c>, <c>focal:grid</c>, <c>ldam:grid</c>, <c>bsoftmax:grid</c>).
/// Several identifiers joined by '+' (<c>jtt@misclassified+gce-biased+xrm</c>) train the method on each one's groups and
/// keep the run that validates best (<c>TwoPhaseRecipe.TrainOnBestGroups</c>).
/// </summary>
internal sealed record StudyRow(string Spec, MethodEntry? Method, IdentifierEntry? Groups, bool ExplicitGroups, string? Layer, LastLayerEntry? LastLayer)
{
    /// <summary>The identifiers a row chooses among on validation (<c>METHOD@A+B+...</c>); null for a row on one identifier's groups (<see cref="Groups"/>).</summary>
    public IReadOnlyList<IdentifierEntry>? Choices { get; init; }

    /// <summary>The identifiers whose groups the row trains on: its choices, or its one identifier (none for a method without groups).</summary>
    public IEnumerable<IdentifierEntry> Identifiers => Choices ?? (Groups is null ? [] : [Groups]);

    /// <summary>A JTT row's lambda from its spec: "auto", "grid" or a number; null for the --jtt-lambda default.</summary>
    public string? JttLambda { get; init; }

    /// <summary>
    /// A row whose method's published grid is searched on validation: a method without groups (<c>cmixup:grid</c>,
    /// <c>mixup:grid</c>, <c>cvar-dro:grid</c>, <c>lff:grid</c>, <c>focal:grid</c>, <c>ldam:grid</c>, <c>bsoftmax:grid</c>:
    /// <c>TwoPhaseRecipe.TrainGrid(method, method.PublishedGrid)</c>)
    /// or one on groups other than JTT (<c>spare-sampling:grid</c>: every candidate T with every grid options when the
    /// groups come from phase I, <c>TrainGrid(method, groups, method.PublishedGrid)</c>). JTT's grid is <see cref="JttLambda"/>.
    /// </summary>
    public bool SearchGrid { get; init; }

    /// <summary>Whether the row searches its method's published grid on validation: <c>jtt:grid</c> or any <c>METHOD:grid</c>.</summary>
    public bool SearchesGrid => JttLambda == "grid" || SearchGrid;

    /// <summary>
    /// Whether the row searches its method's published grid on groups (<c>jtt:grid</c>, <c>spare-sampling:grid</c>):
    /// <c>TrainGrid(method, groups, method.PublishedGrid)</c>, over every candidate T when the groups come from phase I.
    /// </summary>
    public bool SearchesGridOnGroups => SearchesGrid && Method is { TakesGroups: true };

    /// <summary>The rows of the default study (and their seed streams' names, kept from the first studies).</summary>
    public static readonly string[] Defaults =
        ["erm", "jtt", "jm1", "jm1:random", "jm1@oracle", "cmixup", "mixup", "groupdro", "lff", "groupdro@eiil", "lisa", "dfr", "afr", "groupdro@xrm", "jm1@xrm", "dfr/jm1"];

    /// <summary>The word of <c>--methods</c> that stands for every entry of the catalog.</summary>
    public const string All = "all";

    /// <summary>
    /// The specs with <see cref="All"/> replaced by every training method of the catalog on its published groups as
    /// <c>TwoPhaseRecipe.Run</c> trains it by default (its published grid searched on validation where it has one:
    /// <c>jtt:grid</c>, <c>mixup:grid</c>, ...; else its default options), then every last-layer method alone, in catalog
    /// order (a spec named twice runs once).
    /// </summary>
    public static IReadOnlyList<string> Expand(IEnumerable<string> specs)
        => specs.SelectMany(s => s == All ? MethodCatalog.Methods.Select(e => e.PublishedGrid.Count > 0 ? e.Key + ":grid" : e.Key).Concat(MethodCatalog.LastLayer.Select(e => e.Key)) : [s])
            .Distinct(StringComparer.Ordinal).ToList();

    /// <summary>Earlier row names, still accepted.</summary>
    private static readonly Dictionary<string, string> Aliases = new()
    {
        ["jm1-random"] = "jm1:random", ["jm1-oracle"] = "jm1@oracle", ["eiil"] = "groupdro@eiil", ["xrm-groupdro"] = "groupdro@xrm", ["jm1-xrm"] = "jm1@xrm", ["dfr-jm1"] = "dfr/jm1",
    };

    /// <summary>Parses a spec (or an alias).</summary>
    /// <exception cref="ArgumentException">A part is not a key of the catalog (the message lists the keys).</exception>
    public static StudyRow Parse(string text)
    {
        var spec = Aliases.GetValueOrDefault(text, text);
        var rest = spec;
        LastLayerEntry? lastLayer = null;
        if (rest.Split('/') is [var ll, var inner]) (lastLayer, rest) = (MethodCatalog.LastLayerMethod(ll), inner);
        else if (MethodCatalog.LastLayer.FirstOrDefault(e => e.Key == rest) is { } alone) return new StudyRow(spec, null, null, false, null, alone);
        string? layer = null;
        if (rest.Split(':') is [var m, var l]) (rest, layer) = (m, l);
        var parts = rest.Split('@');
        var method = MethodCatalog.Method(parts[0]);
        var choices = parts.Length > 1 ? parts[1].Split('+').Select(MethodCatalog.Identifier).ToList() : null;
        if (choices?.GroupBy(c => c.Key).FirstOrDefault(g => g.Count() > 1) is { } twice) throw new ArgumentException($"'{text}': an identifier is named twice ('{twice.Key}').");
        var groups = choices?[0] ?? method.PublishedGroups;
        if (parts.Length > 1 && !method.TakesGroups) throw new ArgumentException($"'{text}': {method.Name} trains on no groups, so it takes no @identifier.");
        if (choices is { Count: > 1 } && layer is "grid")
            throw new ArgumentException($"'{text}': the grid chooses T and lambda on one identifier's groups; choose among identifiers at a fixed lambda (e.g. {parts[0]}@{parts[1]}:20) or run the grid on each.");
        if (choices is { Count: > 1 } && lastLayer is not null)
            throw new ArgumentException($"'{text}': a last-layer method retrains one run; choose among identifiers without it.");
        var chosen = choices is { Count: > 1 } ? choices : null;
        if (method == MethodCatalog.Jtt && layer is not null)
        {
            if (layer is not ("auto" or "grid") && !(int.TryParse(layer, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out _)))
                throw new ArgumentException($"'{text}': JTT's part after the colon is its lambda: auto, grid (T and lambda in {{20, 50, 100, 0}} chosen on validation) or a number >= 0, not '{layer}'.");
            return new StudyRow(spec, method, groups, parts.Length > 1, null, lastLayer) { JttLambda = layer, Choices = chosen };
        }
        if (layer is "grid")
        {
            if (method.PublishedGrid.Count == 0)
                throw new ArgumentException($"'{text}': ':grid' searches a method's published grid on validation, and {method.Name} has none; " +
                    $"grids: jtt:grid (T and lambda), {string.Join(", ", MethodCatalog.Methods.Where(e => e != MethodCatalog.Jtt && e.PublishedGrid.Count > 0).Select(e => e.Key + ":grid"))}.");
            return new StudyRow(spec, method, groups, parts.Length > 1, null, lastLayer) { SearchGrid = true };
        }
        return new StudyRow(spec, method, groups, parts.Length > 1, layer, lastLayer) { Choices = chosen };
    }

    /// <summary>
    /// The name of the row's run's seed stream: its earlier name where it had one ("groupdro@eiil" draws from "eiil", as
    /// the first studies did, so their numbers stay), else the spec with its separators as dashes ("jm1@oracle": "jm1-oracle").
    /// </summary>
    public string SeedName
    {
        get
        {
            var run = LastLayer is not null && Method is not null ? Spec[(Spec.IndexOf('/') + 1)..] : Spec;
            // JTT's lambda variants and a searched grid draw from the stream of the row without one: they differ only in
            // their options (and T)
            if (JttLambda is not null || SearchGrid) run = run[..run.LastIndexOf(':')];
            return Aliases.FirstOrDefault(kv => kv.Value == run).Key ?? run.Replace('@', '-').Replace(':', '-');
        }
    }

    /// <summary>Whether the row needs phase I (its groups come from a phase-I model, or it retrains ERM's last layer).</summary>
    public bool UsesPhaseOne => Identifiers.Any(i => i.Input == IdentifierInput.PhaseOneModel) || (LastLayer?.HeldOutFraction == 0 && Method is null);

    /// <summary>The row's run without its last-layer step (the run a "dfr/jm1" row retrains).</summary>
    public StudyRow Base => this with { Spec = Spec[(Spec.IndexOf('/') + 1)..], LastLayer = null };
}
