using GroupRobust.Data.Images;
using GroupRobust.Groups;
using static TorchSharp.torch;

namespace GroupRobust.Data.Loaders;

/// <summary>
/// Loads Waterbirds (Sagawa et al., 2020) from its folder: <c>metadata.csv</c> with columns
/// <c>img_id,img_filename,y,split,place,place_filename</c> (y: 0 landbird / 1 waterbird; split: 0 train / 1 val /
/// 2 test; place: 0 land / 1 water) and the images it names. Images are decoded lazily per batch with the reference
/// preprocessing (<see cref="ImagePreprocessing.Waterbirds"/>). Groups: g = 2y + place.
/// </summary>
public static class WaterbirdsLoader
{
    /// <summary>The Waterbirds scheme: landbird/waterbird by land/water.</summary>
    public static GroupScheme Scheme { get; } = GroupScheme.Binary(["landbird", "waterbird"], ["land", "water"]);

    /// <summary>Loads the three splits.</summary>
    /// <param name="root">The dataset folder (holding metadata.csv).</param>
    /// <param name="decoder">Image decoder (JPEG needs GroupRobust.Imaging's SkiaImageDecoder).</param>
    /// <param name="preprocessing">Preprocessing; <see cref="ImagePreprocessing.Waterbirds"/> by default.</param>
    /// <param name="device">Device batches are returned on.</param>
    /// <param name="allowPathsOutsideRoot">Accept image paths that resolve outside <paramref name="root"/> (absolute, with "..", or through a symbolic link that leads out of it: links are followed before the check); false by default.</param>
    /// <param name="scheme">The names of y's two classes and place's two values: <see cref="Scheme"/> (landbird/waterbird by land/water) by default; pass your own for other data in this layout (2 x 2).</param>
    /// <exception cref="ArgumentException"><paramref name="scheme"/> is not 2 classes x 2 attributes.</exception>
    /// <exception cref="FormatException">Missing or duplicate columns, duplicate ids or images, unknown split codes, out-of-range labels, paths outside the root or holding NUL, missing, non-regular or folder images (file and line named).</exception>
    public static DatasetSplits Load(string root, IImageDecoder decoder, ImagePreprocessing? preprocessing = null, Device? device = null, bool allowPathsOutsideRoot = false,
        GroupScheme? scheme = null)
    {
        ArgumentException.ThrowIfNullOrEmpty(root);
        ArgumentNullException.ThrowIfNull(decoder);
        scheme ??= Scheme;
        if (scheme.NumClasses != 2 || scheme.NumAttributes != 2)
            throw new ArgumentException($"The Waterbirds layout has 2 classes (y) and 2 attribute values (place); the scheme is {scheme}.", nameof(scheme));
        var table = CsvTable.ReadCsv(Path.Combine(root, "metadata.csv"));
        int file = table.Column("img_filename"), y = table.Column("y"), split = table.Column("split"), place = table.Column("place");
        int id = table.HasColumn("img_id") ? table.Column("img_id") : file;
        var builder = new ImageSplitBuilder(table.Source, root, allowPathsOutsideRoot);
        for (int r = 0; r < table.Rows.Count; r++)
        {
            int label = table.Int(r, y), attr = table.Int(r, place);
            if (label is not (0 or 1)) throw table.Error(r, $"y is {label}; expected 0 ({scheme.ClassNames[0]}) or 1 ({scheme.ClassNames[1]}).");
            if (attr is not (0 or 1)) throw table.Error(r, $"place is {attr}; expected 0 ({scheme.AttributeNames[0]}) or 1 ({scheme.AttributeNames[1]}).");
            builder.Add(table, r, table.Text(r, id), table.Int(r, split), table.Text(r, file), label, attr);
        }
        return builder.Build(scheme, decoder, preprocessing ?? ImagePreprocessing.Waterbirds, device);
    }
}
