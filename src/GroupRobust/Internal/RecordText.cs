using System.Collections;
using System.Globalization;
using System.Reflection;
using System.Text;
using static TorchSharp.torch;

namespace GroupRobust.Internal;

/// <summary>
/// The members of a public record as people read them: collections as "[a, b, c]" (the first eight, then the count)
/// instead of the compiler's "System.String[]", dictionaries as "{key: value}", numbers in the invariant culture and
/// tensors by dtype and shape (no device read). Records call it from their <c>PrintMembers</c>, so <c>ToString</c>
/// keeps the record form "Name { A = 1, B = [x, y] }".
/// </summary>
internal static class RecordText
{
    private const int Shown = 8;

    /// <summary>Appends "Name = value" for every public instance property of <paramref name="record"/>; for a record's <c>PrintMembers</c>.</summary>
    public static bool Print(object record, StringBuilder builder)
    {
        bool first = true;
        foreach (var p in record.GetType().GetProperties(BindingFlags.Public | BindingFlags.Instance))
        {
            if (p.GetIndexParameters().Length > 0 || p.Name == "EqualityContract") continue;
            if (!first) builder.Append(", ");
            first = false;
            builder.Append(p.Name).Append(" = ");
            string text;
            try
            {
                text = Value(p.GetValue(record));
            }
            catch (Exception ex) when (ex is not (OutOfMemoryException or StackOverflowException))
            {
                text = "(unavailable)";   // ToString must not throw: a disposed or changing member prints as this
            }
            builder.Append(text);
        }
        return true;
    }

    /// <summary>Longest text of one value (a long string, such as a serialized history, is cut).</summary>
    private const int MaxText = 200;

    /// <summary>One value as text (see the class remarks); collections are enumerated only as far as the items shown.</summary>
    public static string Value(object? value) => Cut(value switch
    {
        null => "null",
        string s => s,
        Tensor t => t.IsInvalid ? "Tensor (disposed)" : $"Tensor {t.dtype}[{string.Join(", ", t.shape)}]",
        IFormattable f => f.ToString(null, CultureInfo.InvariantCulture),
        IEnumerable e when IsKeyValueSequence(e) => "{" + Join(e.Cast<object>().Take(Shown + 1).Select(KeyValue), CountOf(e)) + "}",
        IDictionary d => "{" + Join(Entries(d).Take(Shown + 1).Select(e => $"{Value(e.Key)}: {Value(e.Value)}"), d.Count) + "}",
        IEnumerable e => "[" + Join(e.Cast<object?>().Take(Shown + 1).Select(Value), CountOf(e)) + "]",
        _ => value.ToString() ?? "",
    });

    private static string Cut(string text) => text.Length <= MaxText ? text : string.Create(CultureInfo.InvariantCulture, $"{text[..MaxText]}... ({text.Length} characters)");

    /// <summary>The count without enumerating when the collection knows it; null otherwise.</summary>
    private static int? CountOf(IEnumerable e) => e switch
    {
        ICollection c => c.Count,
        _ => e.GetType().GetInterfaces().FirstOrDefault(i => i.IsGenericType && i.GetGenericTypeDefinition() == typeof(IReadOnlyCollection<>))
            ?.GetProperty("Count")?.GetValue(e) as int?,
    };

    private static IEnumerable<DictionaryEntry> Entries(IDictionary d)
    {
        var e = d.GetEnumerator();
        while (e.MoveNext()) yield return e.Entry;
    }

    private static bool IsKeyValueSequence(IEnumerable e) => e.GetType().GetInterfaces().Any(i => i.IsGenericType
        && i.GetGenericTypeDefinition() == typeof(IEnumerable<>) && i.GetGenericArguments()[0] is { IsGenericType: true } kv
        && kv.GetGenericTypeDefinition() == typeof(KeyValuePair<,>));

    private static string KeyValue(object pair)
    {
        var type = pair.GetType();
        return $"{Value(type.GetProperty("Key")!.GetValue(pair))}: {Value(type.GetProperty("Value")!.GetValue(pair))}";
    }

    /// <summary>The first items (at most <see cref="Shown"/> of the <see cref="Shown"/> + 1 given), then the count when there are more.</summary>
    private static string Join(IEnumerable<string> items, int? count)
    {
        var list = items.ToList();
        var shown = string.Join(", ", list.Take(Shown));
        if (list.Count <= Shown) return shown;
        return count is int n ? string.Create(CultureInfo.InvariantCulture, $"{shown}, ... ({n} in all)") : shown + ", ...";
    }
}
