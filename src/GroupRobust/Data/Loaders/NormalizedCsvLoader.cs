using GroupRobust.Data.Images;
using GroupRobust.Groups;
using static TorchSharp.torch;

namespace GroupRobust.Data.Loaders;

/// <summary>
/// Loads any image dataset described by a CSV in the normalized schema <c>id,filename,split,y,a</c> (split 0 / 1 / 2;
/// y in [0, C); a in [0, A); the <c>id</c> column is optional, the filename serves as the id without it), so that users
/// bring their own data without code. This is SubpopBench's metadata layout (Yang et al., 2023), whose images live in a
/// folder next to the CSV: pass that folder as <c>imageRoot</c>, or use <see cref="LoadSubpopBench"/>. Filenames are
/// relative to the image root (default: the CSV's folder). C and A are inferred (max + 1) unless a scheme is given; the
/// group of a sample is y * A + a, as in group_DRO, WILDS and SubpopBench.
/// </summary>
public static class NormalizedCsvLoader
{
    /// <summary>Loads the three splits.</summary>
    /// <param name="csvPath">The CSV file.</param>
    /// <param name="decoder">Image decoder.</param>
    /// <param name="preprocessing">Preprocessing (must give equal sizes; default: none).</param>
    /// <param name="scheme">The group structure; inferred from the data when null.</param>
    /// <param name="device">Device batches are returned on.</param>
    /// <param name="allowPathsOutsideRoot">Accept filenames that resolve outside the image root (absolute, with "..", or through a symbolic link that leads out of it: links are followed before the check); false by default.</param>
    /// <param name="imageRoot">The folder filenames are relative to; null (default) for the CSV's folder.</param>
    /// <exception cref="FormatException">A missing column, a bad value, a label or attribute whose inferred scheme would exceed <see cref="GroupScheme.MaxGroups"/> groups, a path outside the root, naming a folder or holding NUL, a duplicate id or image (the message names the file and line).</exception>
    /// <exception cref="DirectoryNotFoundException">The image root does not exist.</exception>
    public static DatasetSplits Load(string csvPath, IImageDecoder decoder, ImagePreprocessing? preprocessing = null, GroupScheme? scheme = null, Device? device = null,
        bool allowPathsOutsideRoot = false, string? imageRoot = null)
    {
        ArgumentException.ThrowIfNullOrEmpty(csvPath);
        ArgumentNullException.ThrowIfNull(decoder);
        var table = CsvTable.ReadCsv(csvPath);
        int file = table.Column("filename"), split = table.Column("split"), y = table.Column("y"), a = table.Column("a");
        int id = table.HasColumn("id") ? table.Column("id") : file;
        var root = imageRoot is null ? Path.GetDirectoryName(Path.GetFullPath(csvPath))! : Path.GetFullPath(imageRoot);
        if (!Directory.Exists(root)) throw new DirectoryNotFoundException($"{csvPath}: the image root '{root}' does not exist.");
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
        if (scheme is null)
        {
            // C and A are the largest values + 1: one corrupted value must not become a scheme of millions of groups
            int yRow = Array.IndexOf(labels, labels.Max()), aRow = Array.IndexOf(attrs, attrs.Max());
            long classes = Math.Max(2, labels[yRow] + 1L), values = attrs[aRow] + 1L;
            if (classes * values > GroupScheme.MaxGroups)
                throw classes >= values
                    ? table.Error(yRow, $"y is {labels[yRow]}: the inferred scheme would have {classes} x {values} groups, more than {GroupScheme.MaxGroups} (a corrupted label? pass a scheme to state the classes).")
                    : table.Error(aRow, $"a is {attrs[aRow]}: the inferred scheme would have {classes} x {values} groups, more than {GroupScheme.MaxGroups} (a corrupted attribute? pass a scheme to state the values).");
            scheme = new GroupScheme((int)classes, (int)values);
        }
        var builder = new ImageSplitBuilder(table.Source, root, allowPathsOutsideRoot);
        for (int r = 0; r < table.Rows.Count; r++)
            builder.Add(table, r, table.Text(r, id), table.Int(r, split), table.Text(r, file), labels[r], attrs[r]);
        return builder.Build(scheme, decoder, preprocessing ?? ImagePreprocessing.None, device);
    }

    /// <summary>
    /// The datasets of SubpopBench (Yang et al., 2023, "Change is hard") whose metadata CSV names image files, in that
    /// repository's layout under its data path: <c>waterbirds</c> (<c>waterbirds/metadata_waterbirds.csv</c>, images in
    /// <c>waterbirds/waterbird_complete95_forest2water2/</c>) and <c>celeba</c> (<c>celeba/metadata_celeba.csv</c>, images
    /// in <c>celeba/img_align_celeba/</c>).
    /// </summary>
    public static IReadOnlyDictionary<string, (string Csv, string Images)> SubpopBenchLayouts { get; } = new Dictionary<string, (string, string)>
    {
        ["waterbirds"] = ("waterbirds/metadata_waterbirds.csv", "waterbirds/waterbird_complete95_forest2water2"),
        ["celeba"] = ("celeba/metadata_celeba.csv", "celeba/img_align_celeba"),
    };

    /// <summary>Loads a SubpopBench dataset from its data path (see <see cref="SubpopBenchLayouts"/>).</summary>
    /// <param name="dataPath">SubpopBench's data path (the folder holding <c>waterbirds/</c>, <c>celeba/</c>, ...).</param>
    /// <param name="dataset">A key of <see cref="SubpopBenchLayouts"/>.</param>
    /// <param name="decoder">Image decoder (<c>GroupRobust.Imaging.SkiaImageDecoder</c> for JPEG).</param>
    /// <param name="preprocessing">Preprocessing; default the references' (Waterbirds: resize 256, centre crop 224; CelebA: centre crop 178, resize 224; ImageNet normalisation).</param>
    /// <param name="device">Device batches are returned on.</param>
    /// <exception cref="ArgumentException">An unknown dataset name (the message lists the known ones).</exception>
    public static DatasetSplits LoadSubpopBench(string dataPath, string dataset, IImageDecoder decoder, ImagePreprocessing? preprocessing = null, Device? device = null)
    {
        ArgumentException.ThrowIfNullOrEmpty(dataPath);
        ArgumentException.ThrowIfNullOrEmpty(dataset);
        if (!SubpopBenchLayouts.TryGetValue(dataset, out var layout))
            throw new ArgumentException($"SubpopBench dataset '{dataset}' has no image layout here; known: {string.Join(", ", SubpopBenchLayouts.Keys)}.", nameof(dataset));
        preprocessing ??= dataset == "celeba" ? ImagePreprocessing.CelebA : ImagePreprocessing.Waterbirds;
        return Load(Path.Combine(dataPath, layout.Csv), decoder, preprocessing, GroupScheme.Binary(), device, imageRoot: Path.Combine(dataPath, layout.Images));
    }
}
