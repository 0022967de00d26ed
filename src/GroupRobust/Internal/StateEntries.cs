using System.Globalization;

namespace GroupRobust.Internal;

/// <summary>The one check of a saved-state entry (method states, GroupDRO states): present, and of the expected length.</summary>
internal static class StateEntries
{
    /// <param name="values">The saved named arrays.</param>
    /// <param name="name">The entry's name.</param>
    /// <param name="length">Its expected number of values.</param>
    /// <param name="owner">What needs it, for the message ("this method", "this GroupDRO loss (4 groups)").</param>
    /// <exception cref="ArgumentException">The entry is missing or has another length (parameter "state").</exception>
    public static double[] Get(IReadOnlyDictionary<string, double[]> values, string name, int length, string owner)
    {
        if (!values.TryGetValue(name, out var v))
            throw new ArgumentException($"The state has no '{name}' entry.", "state");
        if (v.Length != length)
            throw new ArgumentException(string.Create(CultureInfo.InvariantCulture, $"The state's '{name}' has {v.Length} numbers; {owner} needs {length}."), "state");
        return v;
    }
}
