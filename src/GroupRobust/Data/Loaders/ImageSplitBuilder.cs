using GroupRobust.Data.Images;
using GroupRobust.Groups;
using static TorchSharp.torch;

namespace GroupRobust.Data.Loaders;

/// <summary>Collects metadata rows into train / validation / test image datasets (split codes 0 / 1 / 2, as in the reference metadata files).</summary>
/// <remarks>
/// Metadata comes from the internet, so every row is checked: image paths must resolve inside the data root (no absolute
/// paths, no escaping "..", no symbolic link leading out: links are followed before the check) unless the caller opts in, the file must be a regular non-empty file, and an id may appear only
/// once (in one split), and so may an image file; a path holding NUL or naming a folder is refused; errors name the file and both lines.
/// </remarks>
internal sealed class ImageSplitBuilder(string source, string root, bool allowPathsOutsideRoot)
{
    private readonly List<(string Path, int Label, int Attribute, string Origin)>[] _splits = [[], [], []];
    private readonly Dictionary<string, int> _lineOfId = new(StringComparer.Ordinal);
    private readonly Dictionary<string, int> _lineOfPath = new(StringComparer.Ordinal);
    private readonly string _root = Path.GetFullPath(root);
    private readonly Lazy<string> _realRoot = new(() => RealPath(Path.GetFullPath(root)));

    private static bool IsInside(string path, string root)
        => path.StartsWith(root.EndsWith(Path.DirectorySeparatorChar) ? root : root + Path.DirectorySeparatorChar, StringComparison.Ordinal);

    /// <summary>
    /// <paramref name="fullPath"/> with every symbolic link on the way followed to its final target (realpath(3)); the
    /// components that do not exist are kept as they are.
    /// </summary>
    internal static string RealPath(string fullPath)
    {
        var root = Path.GetPathRoot(fullPath) ?? "/";
        var current = root;
        var rest = new Queue<string>(fullPath[root.Length..].Split(Path.DirectorySeparatorChar, StringSplitOptions.RemoveEmptyEntries));
        for (int hops = 0; rest.Count > 0;)
        {
            var part = rest.Dequeue();
            if (part == ".") continue;
            if (part == "..") { current = Path.GetDirectoryName(current) ?? root; continue; }
            var next = Path.Combine(current, part);
            var info = new FileInfo(next);
            if (info.LinkTarget is string target)
            {
                if (++hops > 40) throw new IOException($"{fullPath}: too many levels of symbolic links.");
                // the target replaces this component; its own components (".." included) are resolved in turn, from the
                // link's folder or, for an absolute target, from the file system's root
                if (Path.IsPathRooted(target)) current = Path.GetPathRoot(target) ?? root;
                var targetRoot = Path.IsPathRooted(target) ? (Path.GetPathRoot(target) ?? root).Length : 0;
                rest = new Queue<string>(target[targetRoot..].Split(Path.DirectorySeparatorChar, StringSplitOptions.RemoveEmptyEntries).Concat(rest));
            }
            else
            {
                current = next;
            }
        }
        return current;
    }

    public void Add(CsvTable table, int row, string id, int split, string relativePath, int label, int attribute, bool checkFile = true)
    {
        if (split is < 0 or > 2) throw table.Error(row, $"split code {split} is unknown; expected 0 (train), 1 (validation) or 2 (test).");
        if (!_lineOfId.TryAdd(id, table.LineOf(row)))
            throw table.Error(row, $"id '{id}' already appears on line {_lineOfId[id]}; every sample must appear once, in one split.");
        if (relativePath.IndexOfAny(Path.GetInvalidPathChars()) >= 0)
            throw table.Error(row, $"image path '{relativePath.Replace("\0", "\\0")}' holds a character no path may hold (NUL).");
        var path = Path.GetFullPath(Path.Combine(_root, relativePath));
        if (!allowPathsOutsideRoot)
        {
            if (!IsInside(path, _root))
                throw table.Error(row, $"image path '{relativePath}' resolves to {path}, outside the data root {_root} (an absolute path or '..'); pass allowPathsOutsideRoot: true to accept it.");
            // a symbolic link inside the root may point anywhere: the check holds for the file the link leads to
            var real = RealPath(path);
            if (!IsInside(real, _realRoot.Value))
                throw table.Error(row, $"image path '{relativePath}' is, through a symbolic link, {real}, outside the data root {_realRoot.Value}; pass allowPathsOutsideRoot: true to accept it.");
        }
        if (checkFile && Directory.Exists(path)) throw table.Error(row, $"image '{path}' is a folder, not an image file.");
        if (checkFile && !File.Exists(path)) throw table.Error(row, $"image '{path}' does not exist.");
        if (checkFile && !ImageFileDataset.IsRegularImageFile(path, out var why)) throw table.Error(row, $"image '{path}' {why}.");
        // one image under two ids (in two splits, say) would be trained and tested on, or counted twice
        if (!_lineOfPath.TryAdd(path, table.LineOf(row)))
            throw table.Error(row, $"image '{relativePath}' ({path}) is also the image of line {_lineOfPath[path]}; every image must appear once.");
        _splits[split].Add((path, label, attribute, $"{table.Source}, line {table.LineOf(row)}"));
    }

    public DatasetSplits Build(GroupScheme scheme, IImageDecoder decoder, ImagePreprocessing preprocessing, Device? device)
    {
        string[] names = ["train", "validation", "test"];
        for (int s = 0; s < 3; s++)
            if (_splits[s].Count == 0) throw new FormatException($"{source}: the {names[s]} split (code {s}) has no rows.");
        ImageFileDataset Make(int s) => new(
            _splits[s].Select(r => r.Path).ToArray(), _splits[s].Select(r => r.Label).ToArray(), _splits[s].Select(r => r.Attribute).ToArray(),
            scheme, decoder, preprocessing, _splits[s].Select(r => r.Origin).ToArray(), device);
        return new DatasetSplits(Make(0), Make(1), Make(2));
    }
}
