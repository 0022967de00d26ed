using GroupRobust.Data.Images;
using GroupRobust.Groups;
using static TorchSharp.torch;

namespace GroupRobust.Data.Loaders;

/// <summary>Collects metadata rows into train / validation / test image datasets (split codes 0 / 1 / 2, as in the reference metadata files).</summary>
/// <remarks>
/// Metadata comes from the internet, so every row is checked: image paths must resolve inside the data root (no absolute
/// paths, no escaping "..") unless the caller opts in, the file must be a regular non-empty file, and an id may appear only
/// once (in one split); errors name the file and both lines.
/// </remarks>
internal sealed class ImageSplitBuilder(string source, string root, bool allowPathsOutsideRoot)
{
    private readonly List<(string Path, int Label, int Attribute, string Origin)>[] _splits = [[], [], []];
    private readonly Dictionary<string, int> _lineOfId = new(StringComparer.Ordinal);
    private readonly string _root = Path.GetFullPath(root);

    public void Add(CsvTable table, int row, string id, int split, string relativePath, int label, int attribute, bool checkFile = true)
    {
        if (split is < 0 or > 2) throw table.Error(row, $"split code {split} is unknown; expected 0 (train), 1 (validation) or 2 (test).");
        if (!_lineOfId.TryAdd(id, table.LineOf(row)))
            throw table.Error(row, $"id '{id}' already appears on line {_lineOfId[id]}; every sample must appear once, in one split.");
        var path = Path.GetFullPath(Path.Combine(_root, relativePath));
        var rootWithSeparator = _root.EndsWith(Path.DirectorySeparatorChar) ? _root : _root + Path.DirectorySeparatorChar;
        if (!allowPathsOutsideRoot && !path.StartsWith(rootWithSeparator, StringComparison.Ordinal))
            throw table.Error(row, $"image path '{relativePath}' resolves to {path}, outside the data root {_root} (an absolute path or '..'); pass allowPathsOutsideRoot: true to accept it.");
        if (checkFile && !File.Exists(path)) throw table.Error(row, $"image '{path}' does not exist.");
        if (checkFile && !ImageFileDataset.IsRegularImageFile(path, out var why)) throw table.Error(row, $"image '{path}' {why}.");
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
