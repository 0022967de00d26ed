using System.Reflection;
using System.Runtime.CompilerServices;
using System.Text.RegularExpressions;
using GroupRobust.Groups;

namespace GroupRobust.Tests;

/// <summary>
/// Public records print as people read them: no "System.String[]" for a collection (the compiler's record ToString),
/// checked for every public record of every package with a collection member, on an instance whose collections are set.
/// </summary>
public partial class RecordTextTests
{
    private static readonly Assembly[] Packages =
    [
        typeof(GroupScheme).Assembly, typeof(GroupRobust.Text.Tokenization.WordPieceTokenizer).Assembly, typeof(GroupRobust.Pretrained.PretrainedWeights).Assembly,
        typeof(GroupRobust.Distributed.DataParallel).Assembly, typeof(GroupRobust.Imaging.SkiaImageDecoder).Assembly,
    ];

    [GeneratedRegex(@"System\.[A-Za-z0-9_.`]+(\[\]|\[[A-Z])")]
    private static partial Regex TypeName();

    /// <summary>A sample value the test can recognise in the text, for the collection types records use; null for others.</summary>
    private static object? Sample(Type t)
    {
        if (t == typeof(string[]) || t == typeof(IReadOnlyList<string>) || t == typeof(IReadOnlyCollection<string>)) return new[] { "alpha", "beta" };
        if (t == typeof(int[]) || t == typeof(IReadOnlyList<int>) || t == typeof(IReadOnlyCollection<int>)) return new[] { 31, 37 };
        if (t == typeof(long[]) || t == typeof(IReadOnlyList<long>)) return new long[] { 31, 37 };
        if (t == typeof(double[]) || t == typeof(IReadOnlyList<double>)) return new[] { 0.25, 0.75 };
        if (t == typeof(float[]) || t == typeof(IReadOnlyList<float>)) return new[] { 0.25f, 0.75f };
        if (t == typeof(byte[])) return new byte[] { 31, 37 };
        if (t == typeof(IReadOnlyDictionary<string, string>) || t == typeof(Dictionary<string, string>)) return new Dictionary<string, string> { ["key"] = "alpha" };
        if (t == typeof(IReadOnlyDictionary<string, double[]>) || t == typeof(Dictionary<string, double[]>)) return new Dictionary<string, double[]> { ["key"] = [0.25] };
        return null;
    }

    private static bool IsCollection(Type t) => t != typeof(string) && typeof(System.Collections.IEnumerable).IsAssignableFrom(t);

    public static TheoryData<string> Records()
    {
        var data = new TheoryData<string>();
        foreach (var type in Packages.SelectMany(a => a.GetExportedTypes()))
            if (type.GetMethod("<Clone>$") is not null && type.GetProperties().Any(p => IsCollection(p.PropertyType)))
                data.Add(type.AssemblyQualifiedName!);
        return data;
    }

    [Theory]
    [MemberData(nameof(Records))]
    public void Records_with_collections_print_their_items_not_a_type_name(string typeName)
    {
        var type = Type.GetType(typeName, throwOnError: true)!;
        var toString = type.GetMethod("ToString", BindingFlags.Public | BindingFlags.Instance, Type.EmptyTypes)!;
        if (toString.DeclaringType == type && toString.GetCustomAttribute<CompilerGeneratedAttribute>() is null) return;   // a ToString of its own
        var instance = RuntimeHelpers.GetUninitializedObject(type);
        bool anySet = false;
        foreach (var p in type.GetProperties(BindingFlags.Public | BindingFlags.Instance))
            if (p.SetMethod is not null && Sample(p.PropertyType) is { } value)
            {
                try
                {
                    p.SetValue(instance, value);
                    anySet = true;
                }
                catch (TargetInvocationException ex) when (ex.InnerException is ArgumentException)
                {
                    // the record's own validation refuses the sample (three channel means, for example): left unset
                }
            }
        var text = instance.ToString()!;
        Assert.DoesNotMatch(TypeName(), text);
        if (anySet) Assert.True(text.Contains("alpha") || text.Contains("31") || text.Contains("0.25"), $"{type.Name}: the collections' items are missing from '{text}'");
    }

    [Fact]
    public void A_group_scheme_prints_its_structure_and_names()
    {
        var scheme = new GroupScheme(2, 2, ["landbird", "waterbird"], ["land", "water"]);
        Assert.Equal("2 classes x 2 attributes (4 groups): classes [landbird, waterbird], attributes [land, water]", scheme.ToString());
        var head = new GroupRobust.Methods.DfrOptions();
        Assert.Contains("CGrid = [1, 0.7, 0.3, 0.1, 0.07, 0.03, 0.01]", head.ToString());
        Assert.Contains("... (20 in all)", GroupRobust.Internal.RecordText.Value(Enumerable.Range(0, 20).ToArray()));
        // big members print their first items and their count without being enumerated, long texts are cut
        var images = new GroupRobust.Data.Idx.IdxArray([10_000_000], new byte[10_000_000]);
        Assert.Contains("Data = [0, 0, 0, 0, 0, 0, 0, 0, ... (10000000 in all)]", images.ToString());
        Assert.Contains("... (5000 characters)", GroupRobust.Internal.RecordText.Value(new string('x', 5000)));
    }
}
