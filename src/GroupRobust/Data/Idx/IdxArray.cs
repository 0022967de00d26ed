namespace GroupRobust.Data.Idx;

/// <summary>An unsigned-byte IDX array (the MNIST/Fashion-MNIST file format): its dimensions and row-major data.</summary>
/// <param name="Dimensions">Sizes of the dimensions, outermost first (e.g. [60000, 28, 28]).</param>
/// <param name="Data">The values, row-major; length is the product of <paramref name="Dimensions"/>.</param>
public sealed record IdxArray(int[] Dimensions, byte[] Data)
{
    /// <summary>Number of items (the first dimension).</summary>
    public int Count => Dimensions[0];

    /// <summary>Values per item (the product of the other dimensions).</summary>
    public int ItemSize => Dimensions.Skip(1).Aggregate(1, (a, b) => a * b);

    /// <summary>Collections print as their items, not as "System.String[]" (the members of the compiler's <c>ToString</c>).</summary>
    private bool PrintMembers(System.Text.StringBuilder builder) => GroupRobust.Internal.RecordText.Print(this, builder);
}
