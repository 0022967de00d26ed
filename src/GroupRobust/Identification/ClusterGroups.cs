namespace GroupRobust.Identification;

/// <summary>
/// Groups made of clusters within each class (SPARE's, GEORGE's): clusters ranked by size, value 0 the class's largest
/// (the majority side) and every other value on the minority side, named "largest cluster", "cluster 2", ...
/// </summary>
internal static class ClusterGroups
{
    /// <summary>The rank of every cluster 0..<paramref name="count"/>-1 by size, the largest first (ties: the cluster whose first member comes first).</summary>
    public static int[] RankBySize(int[] clusters, int count)
    {
        var order = Enumerable.Range(0, count).OrderByDescending(c => clusters.Count(v => v == c)).ThenBy(c => Array.IndexOf(clusters, c)).ToArray();
        var rank = new int[count];
        for (int r = 0; r < order.Length; r++) rank[order[r]] = r;
        return rank;
    }

    /// <summary>Every group but value 0 of every class, with <paramref name="perClass"/> values per class.</summary>
    public static int[] Minority(int classes, int perClass)
        => Enumerable.Range(0, classes).SelectMany(y => Enumerable.Range(1, perClass - 1).Select(r => y * perClass + r)).ToArray();

    /// <summary>"largest cluster", "cluster 2", ... for <paramref name="perClass"/> values.</summary>
    public static string[] ValueNames(int perClass)
        => Enumerable.Range(0, perClass).Select(r => r == 0 ? "largest cluster" : $"cluster {r + 1}").ToArray();
}
