using System.Globalization;
using System.Runtime.CompilerServices;
using System.Text;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace GroupRobust.Distributed;

/// <summary>
/// A model's layout as gradient averaging sees it: every parameter's name, dtype, shape and whether it trains, then every
/// buffer's name, dtype and shape, in the model's order (the order the gradient bucket follows), with the tensors that
/// ride in the bucket. Two ranks whose layouts have the same fingerprint exchange buckets of the same length whose
/// slots mean the same numbers.
/// </summary>
internal sealed class ModelLayout
{
    private ModelLayout(string[] entries, Parameter[] trained, Tensor[] floating, Tensor[] counters)
    {
        Entries = entries;
        Trained = trained;
        Floating = floating;
        Counters = counters;
        Fingerprint = Gathering.Fingerprint(Encoding.UTF8.GetBytes(string.Join("\n", entries)));
        GradientNumbers = trained.Sum(p => p.numel());
        StateNumbers = floating.Sum(b => b.numel());
    }

    /// <summary>One line per parameter and buffer, e.g. "parameter 'fc.weight' float32[2, 16]".</summary>
    public string[] Entries { get; }

    /// <summary>The parameters that train (requires_grad), whose gradients are averaged.</summary>
    public Parameter[] Trained { get; }

    /// <summary>The floating buffers (BatchNorm's running statistics), averaged in the same bucket.</summary>
    public Tensor[] Floating { get; }

    /// <summary>The integer buffers (BatchNorm's batch counter), set to rank 0's.</summary>
    public Tensor[] Counters { get; }

    /// <summary>A stable fingerprint of <see cref="Entries"/>.</summary>
    public long Fingerprint { get; }

    /// <summary>The numbers of <see cref="Trained"/>.</summary>
    public long GradientNumbers { get; }

    /// <summary>The numbers of <see cref="Floating"/>.</summary>
    public long StateNumbers { get; }

    /// <summary>The layout of <paramref name="model"/> (host metadata only: no device synchronisation).</summary>
    public static ModelLayout Of(nn.Module model)
    {
        var entries = new List<string>();
        var trained = new List<Parameter>();
        var floating = new List<Tensor>();
        var counters = new List<Tensor>();
        foreach (var (name, p) in model.named_parameters())
        {
            entries.Add($"parameter '{name}' {Describe(p)}{(p.requires_grad ? "" : " (frozen)")}");
            if (p.requires_grad) trained.Add(p);
        }
        foreach (var (name, b) in model.named_buffers())
        {
            entries.Add($"buffer '{name}' {Describe(b)}");
            if (b.is_floating_point()) floating.Add(b);
            else if (b.dtype != ScalarType.Bool) counters.Add(b);
        }
        return new ModelLayout([.. entries], [.. trained], [.. floating], [.. counters]);
    }

    /// <summary>"float32[16, 2]".</summary>
    public static string Describe(Tensor t)
        => $"{t.dtype.ToString().ToLowerInvariant()}[{string.Join(", ", t.shape.Select(d => d.ToString(CultureInfo.InvariantCulture)))}]";
}

/// <summary>
/// The cross-rank check of data-parallel training: before gradients are exchanged, every rank's model layout (and, for
/// an epoch, its training settings) must be rank 0's. Agreement costs one all-reduce of 64 int64 bit counters (a value
/// agrees when every bit is set on all ranks or on none); only when some rank differs do the ranks exchange their
/// descriptions, so that every rank throws the same message naming the ranks that differ and what differs. Every rank
/// takes the same collective path, so none waits. The layout a job agreed on is kept per collective: later gradient
/// exchanges carry the layout's fingerprint as 64 bit counters in their own bucket, at no extra collective.
/// </summary>
internal static class LayoutAgreement
{
    private const int MaxDescriptionBytes = 1 << 16;   // a description travels (on a mismatch only) up to 64 KiB

    /// <summary>A setting the ranks must share: a key, and how it reads in a message ("a global batch of 32 rows").</summary>
    public readonly record struct Setting(string Key, string Phrase);

    /// <summary>The layout a job's ranks agreed on, the lengths of its gradient bucket.</summary>
    public sealed record Agreed(long Fingerprint, long GradientNumbers, long StateNumbers);

    private static readonly ConditionalWeakTable<ICollective, Agreed> Agreements = [];

    /// <summary>The layout this collective's ranks last agreed on, or null before the first check.</summary>
    public static Agreed? Current(ICollective collective) => Agreements.TryGetValue(collective, out var agreed) ? agreed : null;

    /// <summary>
    /// Checks that every rank has this layout and these settings (one all-reduce), records the layout for the
    /// collective and returns it; otherwise every rank throws the same message.
    /// </summary>
    /// <exception cref="InvalidOperationException">Some rank differs from rank 0.</exception>
    public static Agreed Establish(ICollective collective, ModelLayout layout, IReadOnlyList<Setting> settings)
    {
        string description = Describe(layout, settings);
        if (Differs(collective, Gathering.Fingerprint(Encoding.UTF8.GetBytes(description))))
            Fail(collective, description, settings.Count > 0);
        var agreed = new Agreed(layout.Fingerprint, layout.GradientNumbers, layout.StateNumbers);
        Agreements.AddOrUpdate(collective, agreed);
        return agreed;
    }

    /// <summary>
    /// After a bucket whose 64 slots from <paramref name="at"/> held every rank's layout fingerprint as 0/1 counters was
    /// summed: whether every rank sent the same fingerprint, and which.
    /// </summary>
    public static (bool Agree, long Fingerprint) ReadBits(ReadOnlySpan<float> summed, int at, int size)
    {
        ulong fingerprint = 0;
        for (int bit = 0; bit < 64; bit++)
        {
            float count = summed[at + bit];
            if (count != 0 && count != size) return (false, 0);
            if (count != 0) fingerprint |= 1UL << bit;
        }
        return (true, unchecked((long)fingerprint));
    }

    /// <summary>Writes <paramref name="fingerprint"/> as 64 counters of 0 or 1 from <paramref name="at"/>.</summary>
    public static void WriteBits(Span<float> bucket, int at, long fingerprint)
    {
        for (int bit = 0; bit < 64; bit++) bucket[at + bit] = (fingerprint >> bit) & 1;
    }

    /// <summary>Throws on every rank the message for a layout some rank does not share (every rank calls it).</summary>
    /// <exception cref="InvalidOperationException">Always.</exception>
    [System.Diagnostics.CodeAnalysis.DoesNotReturn]
    public static void FailLayout(ICollective collective, ModelLayout layout) => Fail(collective, Describe(layout, []), withSettings: false);

    /// <summary>Whether any rank's <paramref name="value"/> differs (one all-reduce of 64 int64 counters).</summary>
    private static bool Differs(ICollective collective, long value)
    {
        var counts = new long[64];
        for (int bit = 0; bit < 64; bit++) counts[bit] = (value >> bit) & 1;
        collective.AllReduceSum(counts);
        return counts.Any(c => c != 0 && c != collective.Size);
    }

    /// <summary>This rank's description: the settings (key, phrase), a blank line, the layout's entries.</summary>
    private static string Describe(ModelLayout layout, IReadOnlyList<Setting> settings)
    {
        var text = new StringBuilder();
        foreach (var s in settings) text.Append(s.Key).Append('\t').Append(s.Phrase).Append('\n');
        text.Append('\n');
        text.AppendJoin('\n', layout.Entries);
        return text.ToString();
    }

    private static (List<Setting> Settings, string[] Entries) Parse(string description)
    {
        string head = "", tail;
        int split = description.IndexOf("\n\n", StringComparison.Ordinal);
        if (description.StartsWith('\n')) tail = description[1..];
        else if (split < 0) tail = description;
        else (head, tail) = (description[..split], description[(split + 2)..]);
        var settings = head.Split('\n', StringSplitOptions.RemoveEmptyEntries)
            .Select(line => line.Split('\t', 2)).Select(kv => new Setting(kv[0], kv.Length > 1 ? kv[1] : "")).ToList();
        return (settings, tail.Length == 0 ? [] : tail.Split('\n'));
    }

    /// <summary>Every rank exchanges its description and throws the same message, built from all of them.</summary>
    [System.Diagnostics.CodeAnalysis.DoesNotReturn]
    private static void Fail(ICollective collective, string description, bool withSettings)
    {
        if (Encoding.UTF8.GetByteCount(description) > MaxDescriptionBytes)
            description = description[..Math.Min(description.Length, MaxDescriptionBytes / 4)];   // the message only
        var all = collective.AllGatherText(description);
        throw new InvalidOperationException(Message(all, withSettings));
    }

    /// <summary>The message for the ranks' descriptions (the same on every rank).</summary>
    internal static string Message(IReadOnlyList<string> descriptions, bool withSettings)
    {
        var zero = Parse(descriptions[0]);
        var groups = new List<(string Difference, List<int> Ranks)>();
        for (int r = 1; r < descriptions.Count; r++)
        {
            var other = Parse(descriptions[r]);
            var differences = new List<string>();
            var byKey = zero.Settings.ToDictionary(s => s.Key, s => s.Phrase, StringComparer.Ordinal);
            foreach (var s in other.Settings)
                if (byKey.TryGetValue(s.Key, out var phrase) && phrase != s.Phrase && s.Key != "order")
                    differences.Add($"{s.Phrase} where rank 0 has {phrase}");
            string? layout = LayoutDifference(zero.Entries, other.Entries, r);
            if (layout is not null) differences.Add(layout);
            // another epoch order means something only when nothing else differs (another seed or method state)
            if (differences.Count == 0 && byKey.TryGetValue("order", out var order0)
                && other.Settings.FirstOrDefault(s => s.Key == "order") is { Key: not null } orderR && orderR.Phrase != order0)
                differences.Add($"{orderR.Phrase} where rank 0 has {order0} (another seed, or another method state: JobConfiguration.Verify and ReplicaCheck.Verify tell which)");
            if (differences.Count == 0 && descriptions[r] != descriptions[0])
                differences.Add("another model layout or setting than rank 0");
            if (differences.Count == 0) continue;
            string difference = string.Join("; and ", differences);
            var group = groups.FindIndex(g => g.Difference == difference);
            if (group >= 0) groups[group].Ranks.Add(r);
            else groups.Add((difference, [r]));
        }
        const int shown = 6;
        var parts = groups.Take(shown).Select(g => g.Ranks.Count == 1 ? $"rank {g.Ranks[0]} has {g.Difference}" : $"ranks {Ranks(g.Ranks)} have {g.Difference}").ToList();
        if (parts.Count == 0) parts.Add("some rank differs from rank 0 beyond the part of the descriptions that travels");
        if (groups.Count > shown) parts.Add($"{groups.Skip(shown).Sum(g => g.Ranks.Count)} more ranks differ otherwise");
        string subject = withSettings ? "The ranks of the data-parallel job differ" : "The ranks' models differ in layout";
        string rule = withSettings
            ? "Every rank must build the same model (parameter names, dtypes, shapes and which parameters train, in the same order) and train on the same split with the same method, epoch and global batch"
            : "Every rank must build the same model (parameter names, dtypes, shapes and which parameters train, in the same order)";
        return $"{subject}, so their gradients cannot be averaged: {string.Join("; ", parts)}. {rule}; no gradient or buffer was changed.";
    }

    private static string Ranks(List<int> ranks)
        => ranks.Count == 2 ? $"{ranks[0]} and {ranks[1]}" : string.Join(", ", ranks.Take(ranks.Count - 1)) + " and " + ranks[^1];

    /// <summary>The first entry where rank <paramref name="r"/>'s layout differs from rank 0's, as a phrase after "rank r has"; null when they are equal.</summary>
    private static string? LayoutDifference(string[] zero, string[] other, int r)
    {
        int common = Math.Min(zero.Length, other.Length);
        for (int i = 0; i < common; i++)
        {
            if (zero[i] == other[i]) continue;
            // the same parameter (kind and name) with another dtype, shape or training flag: rank 0's without the name
            int name = NameEnd(zero[i]);
            if (name > 0 && name == NameEnd(other[i]) && string.CompareOrdinal(zero[i], 0, other[i], 0, name) == 0)
                return $"{other[i]} where rank 0 has {zero[i][(name + 1)..]}";
            return $"{other[i]} where rank 0 has {zero[i]} (entry {i + 1} of the model's parameters and buffers)";
        }
        if (zero.Length == other.Length) return null;
        return zero.Length > other.Length
            ? $"{other.Length} parameters and buffers where rank 0 has {zero.Length} (rank {r} lacks rank 0's {zero[common]})"
            : $"{other.Length} parameters and buffers where rank 0 has {zero.Length} (rank 0 lacks rank {r}'s {other[common]})";
    }

    /// <summary>The index just after the closing quote of the entry's name ("parameter 'fc.weight'"), or -1.</summary>
    private static int NameEnd(string entry)
    {
        int open = entry.IndexOf('\'');
        int close = open < 0 ? -1 : entry.IndexOf('\'', open + 1);
        return close < 0 ? -1 : close + 1;
    }
}
