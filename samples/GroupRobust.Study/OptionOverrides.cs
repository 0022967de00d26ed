using System.Globalization;
using System.Reflection;
using GroupRobust.Catalog;

namespace GroupRobust.Study;

/// <summary>
/// The study's <c>--set KEY.Option=VALUE</c>: an option of a catalog entry's options record (a training method, an
/// identifier or a last-layer method) set for every row that builds that entry, for example
/// <c>--set mmd.PenaltyWeight=0.1 --set ssa.Steps=300</c>. The option may be nested in an options record of the entry's
/// (<c>ssa.Pass.BatchSize=128</c>, <c>dfr.Solver.Tolerance=1e-6</c>) and of a number, boolean, string or enum type, a
/// type with a <c>Parse(string)</c> (<c>jm1.Layer=output</c>), or a list of them, comma-separated
/// (<c>afr.Gammas=4,8,12</c>, <c>dfr.CGrid=1,0.1</c>).
/// </summary>
public sealed class OptionOverrides
{
    private readonly Dictionary<string, List<(PropertyInfo[] Path, object? Value)>> _byKey = new(StringComparer.Ordinal);

    private OptionOverrides(IReadOnlyList<string> specs) => Specs = specs;

    /// <summary>No overrides.</summary>
    public static OptionOverrides None { get; } = new([]);

    /// <summary>The specs as given, for the report.</summary>
    public IReadOnlyList<string> Specs { get; }

    /// <summary>Parses the specs.</summary>
    /// <exception cref="ArgumentException">A spec is not KEY.Option=VALUE (or KEY.Record.Option=VALUE) of a catalog key, an option of its options record, and a value of the option's type (the message says which and lists what exists).</exception>
    public static OptionOverrides Parse(IEnumerable<string> specs)
    {
        var list = specs.ToList();
        var result = new OptionOverrides(list);
        foreach (var spec in list)
        {
            int eq = spec.IndexOf('='), dot = eq < 0 ? -1 : spec.IndexOf('.');
            if (eq < 0 || dot <= 0 || dot > eq)
                throw new ArgumentException($"--set '{spec}': expected KEY.Option=VALUE, for example mmd.PenaltyWeight=0.1.");
            string key = spec[..dot], text = spec[(eq + 1)..];
            var names = spec[(dot + 1)..eq].Split('.');
            var defaults = Defaults(key) ?? throw new ArgumentException($"--set '{spec}': '{key}' is not a catalog key (methods, identifiers, last-layer methods: see --help).");
            var path = new PropertyInfo[names.Length];
            var type = defaults.GetType();
            for (int level = 0; level < names.Length; level++)
            {
                bool leaf = level == names.Length - 1;
                var settable = Settable(type, leaf);
                path[level] = settable.FirstOrDefault(p => string.Equals(p.Name, names[level], StringComparison.OrdinalIgnoreCase))
                    ?? throw new ArgumentException($"--set '{spec}': {type.Name} has no {(leaf ? "option" : "options record")} '{names[level]}' settable here; it has " +
                        $"{(settable.Count == 0 ? "none" : string.Join(", ", settable.Select(p => IsRecord(p.PropertyType) ? p.Name + ".*" : p.Name)))}.");
                type = path[level].PropertyType;
            }
            object? value;
            try
            {
                value = Parser(type)!(text);
            }
            catch (Exception ex) when (ex is FormatException or OverflowException or ArgumentException or TargetInvocationException)
            {
                throw new ArgumentException($"--set '{spec}': '{text}' is not a value of {path[^1].Name}'s type {Describe(type)}.");
            }
            if (!result._byKey.TryGetValue(key, out var sets)) result._byKey[key] = sets = [];
            sets.Add((path, value));
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
        var copy = Clone(built ?? Defaults(key)!);
        foreach (var (path, value) in sets) Set(copy, path, 0, value);
        return copy;
    }

    /// <summary>Sets the option at <paramref name="path"/>[level..] of <paramref name="target"/> (a copy the caller owns), copying every record on the way.</summary>
    private static void Set(object target, PropertyInfo[] path, int level, object? value)
    {
        var property = path[level];
        if (level == path.Length - 1)
        {
            property.SetValue(target, value);
            return;
        }
        var inner = property.GetValue(target) ?? Activator.CreateInstance(property.PropertyType)!;
        inner = Clone(inner);
        Set(inner, path, level + 1, value);
        property.SetValue(target, inner);
    }

    // records: a copy through the compiler's clone method, then the init-only setters (a with-expression's work)
    private static object Clone(object record) => record.GetType().GetMethod("<Clone>$")!.Invoke(record, null)!;

    private static bool IsRecord(Type type) => type.GetMethod("<Clone>$") is not null && type.GetConstructor(Type.EmptyTypes) is not null;

    private static List<PropertyInfo> Settable(Type type, bool leaf)
        => type.GetProperties(BindingFlags.Public | BindingFlags.Instance)
            .Where(p => p.SetMethod is { IsPublic: true } && (leaf ? Parser(p.PropertyType) is not null : IsRecord(p.PropertyType)))
            .ToList();

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
        if (ElementOf(type) is { } element && Parser(element) is { } parseElement)
        {
            // a list: comma-separated elements, at least one
            return text =>
            {
                var parts = text.Split(',', StringSplitOptions.TrimEntries);
                if (parts.Any(p => p.Length == 0)) throw new FormatException();
                var array = Array.CreateInstance(element, parts.Length);
                for (int i = 0; i < parts.Length; i++) array.SetValue(parseElement(parts[i]), i);
                return array;
            };
        }
        var parseMethod = type.GetMethod("Parse", BindingFlags.Public | BindingFlags.Static, [typeof(string)]);
        if (parseMethod is not null && type.IsAssignableFrom(parseMethod.ReturnType)) return text => parseMethod.Invoke(null, [text]);
        return null;
    }

    /// <summary>T of T[], IReadOnlyList&lt;T&gt;, IReadOnlyCollection&lt;T&gt; or IEnumerable&lt;T&gt; (what an array of T can be assigned to); null otherwise.</summary>
    private static Type? ElementOf(Type type)
    {
        if (type.IsArray) return type.GetElementType();
        if (!type.IsGenericType || type == typeof(string)) return null;
        var definition = type.GetGenericTypeDefinition();
        return definition == typeof(IReadOnlyList<>) || definition == typeof(IReadOnlyCollection<>) || definition == typeof(IEnumerable<>) ? type.GetGenericArguments()[0] : null;
    }

    private static string Describe(Type type)
        => Nullable.GetUnderlyingType(type) is { } inner ? Describe(inner) + " (or null)"
           : type.IsEnum ? $"{type.Name} ({string.Join(", ", Enum.GetNames(type))})"
           : ElementOf(type) is { } element ? $"a comma-separated list of {Describe(element)}"
           : type.Name;
}
