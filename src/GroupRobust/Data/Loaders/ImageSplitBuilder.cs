using GroupRobust.Data.Images;
using GroupRobust.Groups;
using static TorchSharp.torch;

namespace GroupRobust.Data.Loaders;

/// <summary>Collects metadata rows into train / validation / test image datasets (split codes 0 / 1 / 2, as in the reference metadata files).</summary>
internal sealed class ImageSplitBuilder(string source)
{
    private readonly List<(string Path, int Label, int Attribute, string Origin)>[] _splits = [[], [], []];

    public void Add(CsvTable table, int row, int split, string path, int label, int attribute, bool checkFile = true)
    {
        if (split is < 0 or > 2) throw table.Error(row, $"split code {split} is unknown; expected 0 (train), 1 (validation) or 2 (test).");
        if (checkFile && !File.Exists(path)) throw table.Error(row, $"image '{path}' does not exist.");
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
