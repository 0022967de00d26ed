namespace GroupRobust.Catalog;

/// <summary>The options check every catalog entry makes at its door: the given options (or the defaults) must be of the entry's options type.</summary>
internal static class EntryOptions
{
    /// <summary>Returns <paramref name="options"/>, or <paramref name="defaults"/> when null, after checking its type.</summary>
    /// <param name="options">The caller's options, or null.</param>
    /// <param name="defaults">The entry's defaults (their type is the entry's options type).</param>
    /// <param name="entry">The entry, for the message ("Name ('key')").</param>
    /// <param name="paramName">The argument to name.</param>
    /// <exception cref="ArgumentException">The options are of another type.</exception>
    public static object Resolve(object? options, object defaults, string entry, string paramName)
    {
        if (options is not null && options.GetType() != defaults.GetType())
            throw new ArgumentException($"{entry} takes options of type {defaults.GetType().Name}; got {options.GetType().Name}.", paramName);
        return options ?? defaults;
    }
}
