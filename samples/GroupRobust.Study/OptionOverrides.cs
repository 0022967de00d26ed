using System.Globalization;
using System.Reflection;
using GroupRobust.Catalog;

namespace GroupRobust.Study;

/// <summary>
/// The study's <c>--set KEY.Option=VALUE</c>: an option of a catalog entry's options record (a training method, an
/// identifier or a last-layer method) set for every row that builds that entry, for example
/// <c>--set mmd.PenaltyWeight=0.1 --set ssa.Steps=300</c>. Top-level options of a number, boolean, string or enum type.
/// </summary>
public sealed class OptionOverrides
{
    private readonly Dictionary<string, List<(PropertyInfo Property, object? Value)>> _byKey = new(StringComparer.Ordinal);

    private OptionOverrides(IReadOnlyList<string> specs) => Specs = specs;

    /// <summary>No overrides.</summary>
    public static OptionOverrides None { get; } = new([]);

    /// <summary>The specs as given, for the report.</summary>
    public IReadOnlyList<string> Specs { get; }

    /// <summary>Parses the specs.</summary>
    /// <exception cref="ArgumentException">A spec is not KEY.Option=VALUE of a catalog key, an option of its options record, and a value of the option's type (the message says which and lists what exists).</exception>
    public static OptionOverrides Parse(IEnumerable<string> specs)
    {
        var list = specs.ToList();
        var result = new OptionOverrides(list);
        foreach (var spec in list)
        {
            int eq = spec.IndexOf('='), dot = eq < 0 ? -1 : spec.LastIndexOf('.', eq);
            if (eq < 0 || dot <= 0)
                throw new ArgumentException($"--set '{spec}': expected KEY.Option=VALUE, for example mmd.PenaltyWeight=0.1.");
            string key = spec[..dot], name = spec[(dot + 1)..eq], text = spec[(eq + 1)..];
            var defaults = Defaults(key) ?? throw new ArgumentException($"--set '{spec}': '{key}' is not a catalog key (methods, identifiers, last-layer methods: see --help).");
            var settable = defaults.GetType().GetProperties(BindingFlags.Public | BindingFlags.Instance).Where(p => p.SetMethod is { IsPublic: true } && Parser(p.PropertyType) is not null).ToList();
            var property = settable.FirstOrDefault(p => string.Equals(p.Name, name, StringComparison.OrdinalIgnoreCase))
                ?? throw new ArgumentException($"--set '{spec}': {defaults.GetType().Name} has no option '{name}' settable here; it has {string.Join(", ", settable.Select(p => p.Name))}.");
            object? value;
            try
            {
                value = Parser(property.PropertyType)!(text);
            }
            catch (Exception ex) when (ex is FormatException or OverflowException or ArgumentException)
            {
                throw new ArgumentException($"--set '{spec}': '{text}' is not a value of {property.Name}'s type {Describe(property.PropertyType)}.");
            }
            if (!result._byKey.TryGetValue(key, out var sets)) result._byKey[key] = sets = [];
            sets.Add((property, value));
        }
        return result;
    }

    /// <summary>
    /// The options of entry <paramref name="key"/> with the overrides applied to <paramref name="built"/> (the options the
    /// study would pass, or the entry's defaults when it passes none); <paramref name="built"/> itself when the key has none.
    /// </summary>
    public object? Apply(string key, object? built)
    {
        if (!_byKey.TryGetValue(key, out var sets)) return built;
        var copy = built ?? Defaults(key)!;
        // records: a copy through the compiler's clone method, then the init-only setters (a with-expression's work)
        copy = copy.GetType().GetMethod("<Clone>$")!.Invoke(copy, null)!;
        foreach (var (property, value) in sets) property.SetValue(copy, value);
        return copy;
    }

    private static object? Defaults(string key)
        => MethodCatalog.Methods.FirstOrDefault(e => e.Key == key)?.Defaults
           ?? MethodCatalog.Identifiers.FirstOrDefault(e => e.Key == key)?.Defaults
           ?? MethodCatalog.LastLayer.FirstOrDefault(e => e.Key == key)?.Defaults;

    private static Func<string, object?>? Parser(Type type)
    {
        var inner = Nullable.GetUnderlyingType(type);
        if (inner is not null)
        {
            var parse = Parser(inner);
            return parse is null ? null : text => text is "null" or "" ? null : parse(text);
        }
        if (type == typeof(int)) return text => int.Parse(text, NumberStyles.Integer, CultureInfo.InvariantCulture);
        if (type == typeof(long)) return text => long.Parse(text, NumberStyles.Integer, CultureInfo.InvariantCulture);
        if (type == typeof(double)) return text => double.Parse(text, NumberStyles.Float, CultureInfo.InvariantCulture);
        if (type == typeof(float)) return text => float.Parse(text, NumberStyles.Float, CultureInfo.InvariantCulture);
        if (type == typeof(bool)) return text => bool.Parse(text);
        if (type == typeof(string)) return text => text;
        if (type.IsEnum) return text => Enum.IsDefined(type, Enum.Parse(type, text, ignoreCase: true)) ? Enum.Parse(type, text, ignoreCase: true) : throw new FormatException();
        return null;
    }

    private static string Describe(Type type)
        => Nullable.GetUnderlyingType(type) is { } inner ? Describe(inner) + " (or null)"
           : type.IsEnum ? $"{type.Name} ({string.Join(", ", Enum.GetNames(type))})" : type.Name;
}
