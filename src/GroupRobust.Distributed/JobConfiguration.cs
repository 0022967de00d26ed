using System.Globalization;
using System.Text;

namespace GroupRobust.Distributed;

/// <summary>
/// Checks, before training, that every rank of a job runs the same configuration. Ranks that disagree on the dataset,
/// the global batch, the epochs, the method or the seed would not fail by themselves: they would train different runs,
/// or one would run out of steps and leave the others waiting in a collective for ever. <see cref="Verify"/> exchanges
/// the named settings (two small all-reduces) and, when any differs, throws on every rank the same error naming the
/// setting, the ranks and their values.
/// </summary>
public static class JobConfiguration
{
    private const int PrefixBytes = 56;   // the first 56 bytes of each value travel for the message; the fingerprint covers all of it

    /// <summary>Throws on every rank unless every rank passed the same settings (names, order and values).</summary>
    /// <param name="collective">The job.</param>
    /// <param name="settings">Name and value of every setting that must agree, for example
    /// <c>("dataset", data.Train.Count)</c>, <c>("globalBatch", 128)</c>, <c>("method", method.Name)</c>, <c>("seed", 0)</c>;
    /// values are compared by their invariant-culture text.</param>
    /// <exception cref="InvalidOperationException">The ranks disagree; the message names the first setting that differs, with each rank's value.</exception>
    public static void Verify(ICollective collective, params (string Name, object? Value)[] settings)
    {
        ArgumentNullException.ThrowIfNull(collective);
        ArgumentNullException.ThrowIfNull(settings);
        var names = settings.Select(s => s.Name ?? throw new ArgumentException("A setting has no name.", nameof(settings))).ToArray();
        // first the shape of the list (equal lengths are needed for the second exchange)
        var header = collective.AllGather([settings.Length, Gathering.Fingerprint(Encoding.UTF8.GetBytes(string.Join("\n", names)))]);
        for (int r = 1; r < header.Length; r++)
            if (header[r][0] != header[0][0] || header[r][1] != header[0][1])
                throw new InvalidOperationException($"The ranks check different lists of settings: rank 0 checks {header[0][0]} settings and rank {r} {header[r][0]}, or under other names; every rank must call JobConfiguration.Verify with the same names in the same order (rank {collective.Rank} checks [{string.Join(", ", names)}]).");
        int perValue = 1 + PrefixBytes / 8;
        var mine = new long[settings.Length * perValue];
        for (int i = 0; i < settings.Length; i++)
        {
            var bytes = Encoding.UTF8.GetBytes(Text(settings[i].Value));
            mine[i * perValue] = Gathering.Fingerprint(bytes);
            var prefix = new byte[PrefixBytes];
            bytes.AsSpan(0, Math.Min(bytes.Length, PrefixBytes)).CopyTo(prefix);
            for (int k = 0; k < PrefixBytes / 8; k++) mine[i * perValue + 1 + k] = BitConverter.ToInt64(prefix, k * 8);
        }
        var all = collective.AllGather(mine);
        for (int i = 0; i < settings.Length; i++)
        {
            var differing = Enumerable.Range(1, all.Length - 1).Where(r => all[r][i * perValue] != all[0][i * perValue]).ToArray();
            if (differing.Length == 0) continue;
            string Value(int r)
            {
                var prefix = new byte[PrefixBytes];
                for (int k = 0; k < PrefixBytes / 8; k++) BitConverter.TryWriteBytes(prefix.AsSpan(k * 8), all[r][i * perValue + 1 + k]);
                string text = Encoding.UTF8.GetString(prefix).TrimEnd('\0');
                return text.Length >= PrefixBytes ? text + "..." : text;
            }
            bool samePrefix = differing.All(r => Value(r) == Value(0));
            throw new InvalidOperationException($"The ranks of the job disagree on '{names[i]}': rank 0 has {Value(0)}, "
                + string.Join(", ", differing.Select(r => $"rank {r} has {Value(r)}"))
                + (samePrefix ? $" (the values differ after their first {PrefixBytes} bytes)" : "")
                + ". Every rank must run the same configuration (the same build, data, arguments and seed).");
        }
    }

    private static string Text(object? value) => value switch
    {
        null => "null",
        IFormattable f => f.ToString(null, CultureInfo.InvariantCulture),
        _ => value.ToString() ?? "",
    };
}
