namespace GroupRobust.Data.Images;

/// <summary>A decoded image: interleaved 8-bit RGB pixels, row-major (height x width x 3).</summary>
/// <param name="Width">Width in pixels.</param>
/// <param name="Height">Height in pixels.</param>
/// <param name="Rgb">Pixels, length Width * Height * 3.</param>
public sealed record DecodedImage(int Width, int Height, byte[] Rgb)
{
    /// <summary>Collections print as their items, not as "System.String[]" (the members of the compiler's <c>ToString</c>).</summary>
    private bool PrintMembers(System.Text.StringBuilder builder) => GroupRobust.Internal.RecordText.Print(this, builder);
}
