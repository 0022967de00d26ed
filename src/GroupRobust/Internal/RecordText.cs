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
            catch (TargetInvocationException)
            {
                text = "(unavailable)";   // ToString never throws
            }
            builder.Append(text);
        }
        return true;
    }

    /// <summary>One value as text (see the class remarks).</summary>
    public static string Value(object? value) => value switch
    {
        null => "null",
        string s => s,
        Tensor t => t.IsInvalid ? "Tensor (disposed)" : $"Tensor {t.dtype}[{string.Join(", ", t.shape)}]",
        IFormattable f => f.ToString(null, CultureInfo.InvariantCulture),
        IEnumerable e when IsKeyValueSequence(e) => "{" + Join(e.Cast<object>().Select(KeyValue), e.Cast<object>().Count()) + "}",
        IDictionary d => "{" + Join(Entries(d).Select(e => $"{Value(e.Key)}: {Value(e.Value)}"), d.Count) + "}",
        IEnumerable e => "[" + Join(e.Cast<object?>().Select(Value), e.Cast<object?>().Count()) + "]",
        _ => value.ToString() ?? "",
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

    private static string Join(IEnumerable<string> items, int count)
    {
        var shown = string.Join(", ", items.Take(Shown));
        return count > Shown ? string.Create(CultureInfo.InvariantCulture, $"{shown}, ... ({count} in all)") : shown;
    }
}
