namespace GroupRobust.Methods;

/// <summary>The number of samples of each class in a split's labels (the class counts LDAM and balanced softmax read; no group label).</summary>
internal static class ClassSizes
{
    /// <summary>The count of each class in [0, <paramref name="numClasses"/>).</summary>
    public static long[] Of(ReadOnlySpan<int> labels, int numClasses)
    {
        var counts = new long[numClasses];
        foreach (var y in labels) counts[y]++;
        return counts;
    }
}
