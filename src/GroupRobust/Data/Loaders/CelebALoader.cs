using GroupRobust.Data.Images;
using GroupRobust.Groups;
using static TorchSharp.torch;

namespace GroupRobust.Data.Loaders;

/// <summary>
/// Loads CelebA for group robustness (target Blond_Hair, attribute Male by default: g = 2 Blond + Male) from either the
/// Kaggle CSV pair (<c>list_attr_celeba.csv</c> with <c>image_id</c> and 40 attributes in {-1, 1}, and
/// <c>list_eval_partition.csv</c> with <c>image_id,partition</c>) or the original whitespace pair
/// (<c>list_attr_celeba.txt</c>: a count line, an attribute-name line, then rows; <c>list_eval_partition.txt</c>).
/// Rows of the two files are aligned by image id. Images are read from <c>img_align_celeba/</c> (or
/// <c>img_align_celeba/img_align_celeba/</c>, the Kaggle layout) with <see cref="ImagePreprocessing.CelebA"/>.
/// </summary>
public static class CelebALoader
{
    /// <summary>Loads the three splits.</summary>
    /// <param name="root">The dataset folder.</param>
    /// <param name="decoder">Image decoder (JPEG needs GroupRobust.Imaging's SkiaImageDecoder).</param>
    /// <param name="target">Attribute used as the label (default Blond_Hair).</param>
    /// <param name="attribute">Attribute used as the spurious attribute (default Male).</param>
    /// <param name="preprocessing">Preprocessing; <see cref="ImagePreprocessing.CelebA"/> by default.</param>
    /// <param name="device">Device batches are returned on.</param>
    /// <param name="allowPathsOutsideRoot">Accept image ids that resolve outside the image folder (absolute, with "..", or through a symbolic link that leads out of it: links are followed before the check); false by default.</param>
    /// <exception cref="ArgumentException"><paramref name="attribute"/> is the same column as <paramref name="target"/>.</exception>
    /// <exception cref="FileNotFoundException">Neither file pair is in <paramref name="root"/>.</exception>
    /// <exception cref="FormatException">
    /// A missing column or attribute, a value other than -1 / 1, an unknown partition code, an image listed twice or in
    /// one file only, a count line (the .txt pair) that differs from the rows that follow, a bad image path (file and line named).
    /// </exception>
    public static DatasetSplits Load(string root, IImageDecoder decoder, string target = "Blond_Hair", string attribute = "Male",
        ImagePreprocessing? preprocessing = null, Device? device = null, bool allowPathsOutsideRoot = false)
    {
        ArgumentException.ThrowIfNullOrEmpty(root);
        ArgumentNullException.ThrowIfNull(decoder);
        ArgumentException.ThrowIfNullOrEmpty(target);
        ArgumentException.ThrowIfNullOrEmpty(attribute);
        if (target == attribute)
            throw new ArgumentException($"target and attribute are both '{target}': the groups off the diagonal would be empty; choose another attribute.", nameof(attribute));
        CsvTable attrs, parts;
        string idColumn;
        if (File.Exists(Path.Combine(root, "list_attr_celeba.csv")))
        {
            attrs = CsvTable.ReadCsv(Path.Combine(root, "list_attr_celeba.csv"));
            parts = CsvTable.ReadCsv(Path.Combine(root, "list_eval_partition.csv"));
            idColumn = "image_id";
        }
        else if (File.Exists(Path.Combine(root, "list_attr_celeba.txt")))
        {
            var txt = Path.Combine(root, "list_attr_celeba.txt");
            var names = File.ReadLines(txt).Skip(1).FirstOrDefault()?.Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries)
                        ?? throw new FormatException($"{txt}, line 2: missing the attribute-name line.");
            attrs = CsvTable.ReadWhitespace(txt, ["image_id", .. names], skipLines: 2);
            // the first line announces the image count: fewer rows are a download cut short
            var countLine = File.ReadLines(txt).First().Trim();
            if (!int.TryParse(countLine, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out int count) || count != attrs.Rows.Count)
                throw new FormatException($"{txt}, line 1: the count line is '{countLine}' but {attrs.Rows.Count} rows follow the attribute names (truncated or edited?).");
            parts = CsvTable.ReadWhitespace(Path.Combine(root, "list_eval_partition.txt"), ["image_id", "partition"]);
            idColumn = "image_id";
        }
        else
        {
            throw new FileNotFoundException($"Neither list_attr_celeba.csv nor list_attr_celeba.txt was found in {root}.", Path.Combine(root, "list_attr_celeba.csv"));
        }

        int id = attrs.Column(idColumn), yCol = attrs.Column(target), aCol = attrs.Column(attribute);
        int pid = parts.Column(idColumn), pCol = parts.Column("partition");
        var partition = new Dictionary<string, (int Split, int Row)>(StringComparer.Ordinal);
        for (int r = 0; r < parts.Rows.Count; r++)
            if (!partition.TryAdd(parts.Text(r, pid), (parts.Int(r, pCol), r)))
                throw parts.Error(r, $"image id '{parts.Text(r, pid)}' appears twice.");
        var imageDir = Path.Combine(root, "img_align_celeba");
        if (Directory.Exists(Path.Combine(imageDir, "img_align_celeba"))) imageDir = Path.Combine(imageDir, "img_align_celeba");
        var builder = new ImageSplitBuilder(attrs.Source, imageDir, allowPathsOutsideRoot);
        var used = new HashSet<string>(StringComparer.Ordinal);
        for (int r = 0; r < attrs.Rows.Count; r++)
        {
            var image = attrs.Text(r, id);
            if (!partition.TryGetValue(image, out var p)) throw attrs.Error(r, $"image id '{image}' has no row in {parts.Source}.");
            int y = PlusMinusOne(attrs, r, yCol), a = PlusMinusOne(attrs, r, aCol);
            if (p.Split is < 0 or > 2) throw parts.Error(p.Row, $"partition code {p.Split} is unknown; expected 0 (train), 1 (validation) or 2 (test).");
            builder.Add(attrs, r, image, p.Split, image, y, a);
            used.Add(image);
        }
        // an image the partition file lists but the attribute file lacks would be dropped without a word
        for (int r = 0; r < parts.Rows.Count; r++)
            if (!used.Contains(parts.Text(r, pid)))
                throw parts.Error(r, $"image id '{parts.Text(r, pid)}' has no row in {attrs.Source}; the two files must list the same images.");
        var scheme = GroupScheme.Binary([$"not {target}", target], [$"not {attribute}", attribute]);
        return builder.Build(scheme, decoder, preprocessing ?? ImagePreprocessing.CelebA, device);
    }

    private static int PlusMinusOne(CsvTable t, int row, int column)
    {
        int v = t.Int(row, column);
        return v switch
        {
            1 => 1,
            -1 or 0 => 0,
            _ => throw t.Error(row, $"attribute '{t.Header[column]}' is {v}; expected -1 or 1."),
        };
    }
}
