using GroupRobust.Data.Images;
using GroupRobust.Groups;
using static TorchSharp.torch;

namespace GroupRobust.Data.Loaders;

/// <summary>
/// Loads any image dataset described by a CSV in the normalized schema <c>id,filename,split,y,a</c> (split 0 / 1 / 2;
/// y in [0, C); a in [0, A)), so that users bring their own data without code. Filenames are relative to the CSV's folder
/// unless absolute. C and A are inferred (max + 1) unless a scheme is given.
/// </summary>
public static class NormalizedCsvLoader
{
    /// <summary>Loads the three splits.</summary>
    /// <param name="csvPath">The CSV file.</param>
    /// <param name="decoder">Image decoder.</param>
    /// <param name="preprocessing">Preprocessing (must give equal sizes; default: none).</param>
    /// <param name="scheme">The group structure; inferred from the data when null.</param>
    /// <param name="device">Device batches are returned on.</param>
    /// <param name="allowPathsOutsideRoot">Accept filenames that resolve outside the CSV's folder (absolute or with ".."); false by default.</param>
    public static DatasetSplits Load(string csvPath, IImageDecoder decoder, ImagePreprocessing? preprocessing = null, GroupScheme? scheme = null, Device? device = null,
        bool allowPathsOutsideRoot = false)
    {
        ArgumentException.ThrowIfNullOrEmpty(csvPath);
        ArgumentNullException.ThrowIfNull(decoder);
        var table = CsvTable.ReadCsv(csvPath);
        int file = table.Column("filename"), split = table.Column("split"), y = table.Column("y"), a = table.Column("a");
        int id = table.Column("id");
        var root = Path.GetDirectoryName(Path.GetFullPath(csvPath))!;
        var labels = new int[table.Rows.Count];
        var attrs = new int[table.Rows.Count];
        for (int r = 0; r < table.Rows.Count; r++)
        {
            labels[r] = table.Int(r, y);
            attrs[r] = table.Int(r, a);
            if (labels[r] < 0) throw table.Error(r, $"y is {labels[r]}; labels must be >= 0.");
            if (attrs[r] < 0) throw table.Error(r, $"a is {attrs[r]}; attributes must be >= 0.");
            if (scheme is not null && labels[r] >= scheme.NumClasses) throw table.Error(r, $"y is {labels[r]}; the scheme has {scheme.NumClasses} classes.");
            if (scheme is not null && attrs[r] >= scheme.NumAttributes) throw table.Error(r, $"a is {attrs[r]}; the scheme has {scheme.NumAttributes} attribute values.");
        }
        if (table.Rows.Count == 0) throw new FormatException($"{csvPath}: no data rows.");
        scheme ??= new GroupScheme(Math.Max(2, labels.Max() + 1), attrs.Max() + 1);
        var builder = new ImageSplitBuilder(table.Source, root, allowPathsOutsideRoot);
        for (int r = 0; r < table.Rows.Count; r++)
            builder.Add(table, r, table.Text(r, id), table.Int(r, split), table.Text(r, file), labels[r], attrs[r]);
        return builder.Build(scheme, decoder, preprocessing ?? ImagePreprocessing.None, device);
    }
}
