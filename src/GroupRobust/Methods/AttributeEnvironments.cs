using GroupRobust.Identification;

namespace GroupRobust.Methods;

/// <summary>
/// A batch's rows split by environment, the attribute value a = g mod A of each sample's group (SubpopBench's
/// <c>return_attributes</c>): what IRM's penalty and MMD's and CORAL's alignment compare.
/// </summary>
internal static class AttributeEnvironments
{
    /// <summary>The batch rows of each environment present in the batch, in increasing order of a, each in batch order.</summary>
    /// <param name="indices">The batch's sample indices.</param>
    /// <param name="groups">The training split's groups.</param>
    public static List<long[]> Rows(ReadOnlySpan<long> indices, GroupAssignment groups)
    {
        int a = groups.GroupsPerClass;
        var rows = new List<long>?[a];
        for (int i = 0; i < indices.Length; i++)
            (rows[groups.GroupOf(indices[i]) % a] ??= []).Add(i);
        return rows.Where(r => r is not null).Select(r => r!.ToArray()).ToList();
    }
}
