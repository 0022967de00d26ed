using GroupRobust.Data;
using GroupRobust.Data.Images;
using GroupRobust.Data.Loaders;
using GroupRobust.Groups;
using GroupRobust.Imaging;
using GroupRobust.Tests.TestSupport;
using TorchSharp;
using static TorchSharp.torch;

namespace GroupRobust.Tests.Data.Loaders;

public class LoaderTests
{
    [Theory]
    [InlineData(".ppm")]
    [InlineData(".jpg")]
    public void Waterbirds_loads_splits_groups_and_preprocesses_lazily(string extension)
    {
        using var dir = new TempDirectory();
        LoaderFixtures.Waterbirds(dir.Path, extension);
        IImageDecoder decoder = extension == ".ppm" ? new NetpbmImageDecoder() : new SkiaImageDecoder();
        var splits = WaterbirdsLoader.Load(dir.Path, decoder);
        Assert.Equal(4, splits.Train.Count);
        Assert.Equal(new long[] { 1, 1, 1, 1 }, GroupCounts.Of(splits.Test));
        Assert.Equal("(waterbird, land)", splits.Scheme.GroupName(2));
        using var scope = NewDisposeScope();
        using var batch = splits.Train.GetBatch([0, 3]);
        Assert.Equal(new long[] { 2, 3, 224, 224 }, batch.Inputs.shape);
        // sample 3 is (waterbird, water): solid RGB (200, 200, 0) -> ImageNet-normalised
        var pixel = batch.Inputs[1, .., 100, 100].data<float>().ToArray();
        var tolerance = extension == ".jpg" ? 0.05f : 1e-4f;
        Assert.Equal((200 / 255f - 0.485f) / 0.229f, pixel[0], tolerance);
        Assert.Equal((200 / 255f - 0.456f) / 0.224f, pixel[1], tolerance);
        Assert.Equal((0 - 0.406f) / 0.225f, pixel[2], tolerance);
        Assert.Equal(new long[] { 0, 3 }, batch.Groups!.data<long>().ToArray());
    }

    [Fact]
    public void Other_data_in_the_waterbirds_layout_takes_its_own_class_and_attribute_names()
    {
        using var dir = new TempDirectory();
        LoaderFixtures.Waterbirds(dir.Path, ".ppm");
        var scheme = GroupRobust.Groups.GroupScheme.Binary(["cat", "dog"], ["indoors", "outdoors"]);
        var splits = WaterbirdsLoader.Load(dir.Path, new NetpbmImageDecoder(), scheme: scheme);
        Assert.Equal("(dog, indoors)", splits.Scheme.GroupName(2));
        Assert.Same(scheme, splits.Train.Scheme);
        var ex = Assert.Throws<ArgumentException>(() => WaterbirdsLoader.Load(dir.Path, new NetpbmImageDecoder(), scheme: new GroupRobust.Groups.GroupScheme(3, 2)));
        Assert.Equal("scheme", ex.ParamName);
        Assert.Contains("3 classes x 2 attributes", ex.Message);
    }

    [Theory]
    [InlineData("place,", "plase,", "missing column 'place'")]
    [InlineData("\n3,001.Bird/img_3.ppm,1,0,0,", "\n3,001.Bird/img_3.ppm,1,7,0,", "split code 7 is unknown")]
    [InlineData("\n2,001.Bird/img_2.ppm,0,0,1,", "\n2,001.Bird/img_2.ppm,2,0,1,", "y is 2")]
    [InlineData("\n4,001.Bird/img_4.ppm,", "\n4,001.Bird/img_404.ppm,", "img_404.ppm' does not exist")]
    public void Waterbirds_bad_files_name_the_file_line_and_problem(string find, string replace, string expected)
    {
        using var dir = new TempDirectory();
        LoaderFixtures.Waterbirds(dir.Path, ".ppm", csv => csv.Replace(find, replace));
        var ex = Assert.Throws<FormatException>(() => WaterbirdsLoader.Load(dir.Path, new NetpbmImageDecoder()));
        Assert.Contains(expected, ex.Message);
        Assert.Contains("metadata.csv", ex.Message);
        if (!expected.StartsWith("missing column")) Assert.Matches("line [0-9]+", ex.Message);
    }

    [Fact]
    public void Corrupted_image_is_reported_with_its_metadata_line()
    {
        using var dir = new TempDirectory();
        LoaderFixtures.Waterbirds(dir.Path, ".ppm");
        File.WriteAllText(Path.Combine(dir.Path, "001.Bird/img_1.ppm"), "P6\n10 10\n255\nxx");
        var splits = WaterbirdsLoader.Load(dir.Path, new NetpbmImageDecoder());
        var ex = Assert.Throws<InvalidDataException>(() => splits.Train.GetBatch([0]));
        Assert.Contains("metadata.csv, line 2", ex.Message);
        Assert.Contains("truncated", ex.Message);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void CelebA_reads_both_file_pairs_with_selectable_target_and_attribute(bool txt)
    {
        using var dir = new TempDirectory();
        LoaderFixtures.CelebA(dir.Path, txt);
        var splits = CelebALoader.Load(dir.Path, new NetpbmImageDecoder());
        Assert.Equal(4, splits.Train.Count);
        // image i: blond when i is even, male when i / 2 is even -> g = 2 blond + male
        Assert.Equal(new[] { 3, 1, 2, 0 }, splits.Train.Groups.ToArray());
        Assert.Equal("(Blond_Hair, Male)", splits.Scheme.GroupName(3));
        using var scope = NewDisposeScope();
        Assert.Equal(new long[] { 1, 3, 224, 224 }, splits.Validation.GetBatch([0]).Inputs.shape);
        var smiling = CelebALoader.Load(dir.Path, new NetpbmImageDecoder(), target: "Smiling", attribute: "Blond_Hair");
        Assert.All(smiling.Train.Labels.ToArray(), y => Assert.Equal(1, y));
        var ex = Assert.Throws<FormatException>(() => CelebALoader.Load(dir.Path, new NetpbmImageDecoder(), target: "Bald"));
        Assert.Contains("missing column 'Bald'", ex.Message);
    }

    [Fact]
    public void CelebA_rejects_an_image_listed_twice_in_either_file()
    {
        using var dir = new TempDirectory();
        LoaderFixtures.CelebA(dir.Path, txt: false);
        // the partition file lists an image twice (it would be in two splits)
        var parts = Path.Combine(dir.Path, "list_eval_partition.csv");
        var partLines = File.ReadAllLines(parts);
        File.WriteAllLines(parts, [.. partLines, partLines[1].Split(',')[0] + ",2"]);
        var ex = Assert.Throws<FormatException>(() => CelebALoader.Load(dir.Path, new NetpbmImageDecoder()));
        Assert.Contains("list_eval_partition.csv", ex.Message);
        Assert.Contains("appears twice", ex.Message);
        File.WriteAllLines(parts, partLines);
        // the attribute file lists an image twice
        var attrs = Path.Combine(dir.Path, "list_attr_celeba.csv");
        var attrLines = File.ReadAllLines(attrs);
        File.WriteAllLines(attrs, [.. attrLines, attrLines[1]]);
        var again = Assert.Throws<FormatException>(() => CelebALoader.Load(dir.Path, new NetpbmImageDecoder()));
        Assert.Contains("list_attr_celeba.csv", again.Message);
    }

    [Fact]
    public void CelebA_bad_values_name_the_line()
    {
        using var dir = new TempDirectory();
        LoaderFixtures.CelebA(dir.Path, txt: false);
        var path = Path.Combine(dir.Path, "list_attr_celeba.csv");
        var lines = File.ReadAllLines(path);
        lines[3] = lines[3].Replace(",-1,", ",5,");
        File.WriteAllLines(path, lines);
        var ex = Assert.Throws<FormatException>(() => CelebALoader.Load(dir.Path, new NetpbmImageDecoder()));
        Assert.Contains("line 4", ex.Message);
        Assert.Contains("expected -1 or 1", ex.Message);
    }

    [Fact]
    public void MultiNli_groups_follow_label_and_negation_with_pluggable_features()
    {
        using var dir = new TempDirectory();
        var csv = dir.File("metadata_random.csv");
        var rows = Enumerable.Range(0, 18).Select(i => $"{i},{i % 3},{i / 3 % 2},{i / 6}");
        File.WriteAllLines(csv, [",gold_label,sentence2_has_negation,split", .. rows]);
        using var features = new TensorFeatureSource(torch.arange(18 * 4, dtype: ScalarType.Int64).reshape(18, 4));
        var splits = MultiNliLoader.Load(csv, features);
        Assert.Equal(6, splits.Scheme.NumGroups);
        Assert.Equal(6, splits.Train.Count);
        Assert.Equal(new[] { 0, 2, 4, 1, 3, 5 }, splits.Train.Groups.ToArray());
        using var scope = NewDisposeScope();
        using var b = splits.Test.GetBatch([1]);
        Assert.Equal(Enumerable.Range(13 * 4, 4).Select(v => (long)v), b.Inputs[0].data<long>().ToArray());
        File.WriteAllLines(csv, [",gold_label,sentence2_has_negation,split", .. rows.Take(17), "17,3,0,2"]);
        var ex = Assert.Throws<FormatException>(() => MultiNliLoader.Load(csv, features));
        Assert.Contains("line 19", ex.Message);
        Assert.Contains("gold_label is 3", ex.Message);
        // an example listed in two splits (the same row id twice) is rejected, naming both lines
        File.WriteAllLines(csv, [",gold_label,sentence2_has_negation,split", .. rows.Take(17), "3,0,0,2"]);
        var twice = Assert.Throws<FormatException>(() => MultiNliLoader.Load(csv, features));
        Assert.Contains("line 19", twice.Message);
        Assert.Contains("row id '3' appears twice (also on line 5)", twice.Message);
    }

    [Fact]
    public void Normalized_csv_brings_your_own_dataset()
    {
        using var dir = new TempDirectory();
        Directory.CreateDirectory(dir.File("imgs"));
        var lines = new List<string> { "id,filename,split,y,a" };
        for (int i = 0; i < 9; i++)
        {
            NetpbmImageDecoder.WritePpm(dir.File($"imgs/{i}.ppm"), LoaderFixtures.Solid(8, 8, (byte)i, 0, 0));
            lines.Add($"{i},imgs/{i}.ppm,{i % 3},{i % 3},{i / 3 % 2}");
        }
        File.WriteAllLines(dir.File("data.csv"), lines);
        var splits = NormalizedCsvLoader.Load(dir.File("data.csv"), new NetpbmImageDecoder());
        Assert.Equal(3, splits.Scheme.NumClasses);
        Assert.Equal(2, splits.Scheme.NumAttributes);
        using var scope = NewDisposeScope();
        Assert.Equal(new long[] { 3, 3, 8, 8 }, splits.Train.GetBatch([0, 1, 2]).Inputs.shape);
        lines[4] = "3,imgs/3.ppm,0,-1,0";
        File.WriteAllLines(dir.File("data.csv"), lines);
        var ex = Assert.Throws<FormatException>(() => NormalizedCsvLoader.Load(dir.File("data.csv"), new NetpbmImageDecoder()));
        Assert.Contains("line 5", ex.Message);
        Assert.Contains("y is -1", ex.Message);
    }

    [Fact]
    public void SubpopBench_layout_loads_with_the_images_one_folder_below_the_csv()
    {
        // SubpopBench's data path: waterbirds/metadata_waterbirds.csv, images under waterbirds/waterbird_complete95_forest2water2/
        using var dir = new TempDirectory();
        var images = dir.File("waterbirds/waterbird_complete95_forest2water2/001.Black_footed_Albatross");
        Directory.CreateDirectory(images);
        var lines = new List<string> { "id,filename,split,y,a" };
        for (int i = 0; i < 12; i++)
        {
            NetpbmImageDecoder.WritePpm(Path.Combine(images, $"bird_{i}.ppm"), LoaderFixtures.Solid(8, 8, (byte)(10 * i), 0, 0));
            lines.Add($"{i},001.Black_footed_Albatross/bird_{i}.ppm,{i % 3},{i / 3 % 2},{i / 6 % 2}");
        }
        File.WriteAllLines(dir.File("waterbirds/metadata_waterbirds.csv"), lines);
        var splits = NormalizedCsvLoader.LoadSubpopBench(dir.Path, "waterbirds", new NetpbmImageDecoder(), ImagePreprocessing.None);
        Assert.Equal(4, splits.Train.Count);
        Assert.Equal(GroupScheme.Binary(), splits.Scheme);
        // group = y * A + a, as in group_DRO, WILDS and SubpopBench: sample 0 of the training split is row 0 (y 0, a 0), sample 2 is row 6 (y 0, a 1)
        Assert.Equal(new[] { 0, 2, 1, 3 }, splits.Train.Groups.ToArray());
        using (var scope = NewDisposeScope())
            Assert.Equal(60f / 255f, splits.Train.GetBatch([2]).Inputs[0, 0, 0, 0].item<float>(), 1e-5);

        // without the image root the files are looked for next to the CSV, and the error names the line and the file
        var missing = Assert.Throws<FormatException>(() => NormalizedCsvLoader.Load(dir.File("waterbirds/metadata_waterbirds.csv"), new NetpbmImageDecoder()));
        Assert.Contains("line 2", missing.Message);
        Assert.Contains("bird_0.ppm", missing.Message);
        // the id column is optional (the filename is the id), and an unknown layout lists the known ones
        File.WriteAllLines(dir.File("waterbirds/metadata_waterbirds.csv"), lines.Select(l => l[(l.IndexOf(',') + 1)..]));
        Assert.Equal(4, NormalizedCsvLoader.LoadSubpopBench(dir.Path, "waterbirds", new NetpbmImageDecoder(), ImagePreprocessing.None).Train.Count);
        Assert.Contains("waterbirds, celeba", Assert.Throws<ArgumentException>(() => NormalizedCsvLoader.LoadSubpopBench(dir.Path, "metashift", new NetpbmImageDecoder())).Message);
        Assert.Throws<DirectoryNotFoundException>(() => NormalizedCsvLoader.Load(dir.File("waterbirds/metadata_waterbirds.csv"), new NetpbmImageDecoder(), imageRoot: dir.File("nowhere")));
    }

    [Fact]
    public void Metadata_from_the_internet_cannot_escape_the_root_open_devices_or_repeat_ids()
    {
        using var dir = new TempDirectory();
        Directory.CreateDirectory(dir.File("data/imgs"));
        var lines = new List<string> { "id,filename,split,y,a" };
        for (int i = 0; i < 6; i++)
        {
            NetpbmImageDecoder.WritePpm(dir.File($"data/imgs/{i}.ppm"), LoaderFixtures.Solid(8, 8, (byte)i, 0, 0));
            lines.Add($"{i},imgs/{i}.ppm,{i % 3},{i % 2},{i / 3 % 2}");
        }
        NetpbmImageDecoder.WritePpm(dir.File("outside.ppm"), LoaderFixtures.Solid(8, 8, 1, 0, 0));
        string csv = dir.File("data/data.csv");
        FormatException Fails(int line, string row)
        {
            var edited = lines.ToList();
            edited[line] = row;
            File.WriteAllLines(csv, edited);
            return Assert.Throws<FormatException>(() => NormalizedCsvLoader.Load(csv, new NetpbmImageDecoder()));
        }
        var up = Fails(1, "0,../outside.ppm,0,0,0");
        Assert.Contains("line 2", up.Message);
        Assert.Contains("outside the data root", up.Message);
        Assert.Contains("outside the data root", Fails(1, $"0,{dir.File("outside.ppm")},0,0,0").Message);
        Assert.Contains("outside the data root", Fails(1, "0,/dev/zero,0,0,0").Message);
        var dup = Fails(4, "0,imgs/3.ppm,1,1,0");
        Assert.Contains("id '0' already appears on line 2", dup.Message);
        Assert.Contains("line 5", dup.Message);
        // the opt-in accepts paths outside the root, but still never a device
        var edited = lines.ToList();
        edited[1] = "0,../outside.ppm,0,0,0";
        File.WriteAllLines(csv, edited);
        Assert.Equal(2, NormalizedCsvLoader.Load(csv, new NetpbmImageDecoder(), allowPathsOutsideRoot: true).Train.Count);
        edited[1] = "0,/dev/zero,0,0,0";
        File.WriteAllLines(csv, edited);
        Assert.Contains("not a regular file", Assert.Throws<FormatException>(() => NormalizedCsvLoader.Load(csv, new NetpbmImageDecoder(), allowPathsOutsideRoot: true)).Message);
        File.WriteAllLines(csv, ["id,filename,split,y,y", "0,imgs/0.ppm,0,0,0"]);
        Assert.Contains("names column 'y' twice", Assert.Throws<FormatException>(() => NormalizedCsvLoader.Load(csv, new NetpbmImageDecoder())).Message);
    }

    [Fact]
    public void Symbolic_links_inside_the_root_are_followed_before_the_root_check()
    {
        using var dir = new TempDirectory();
        Directory.CreateDirectory(dir.File("data/imgs"));
        Directory.CreateDirectory(dir.File("elsewhere"));
        var lines = new List<string> { "id,filename,split,y,a" };
        for (int i = 0; i < 6; i++)
        {
            NetpbmImageDecoder.WritePpm(dir.File($"data/imgs/{i}.ppm"), LoaderFixtures.Solid(8, 8, (byte)i, 0, 0));
            lines.Add($"{i},imgs/{i}.ppm,{i % 3},{i % 2},{i / 3 % 2}");
        }
        NetpbmImageDecoder.WritePpm(dir.File("elsewhere/secret.ppm"), LoaderFixtures.Solid(8, 8, 9, 9, 9));
        // a file link to a file outside, a folder link to a folder outside, and a link inside the root to a file inside it
        File.CreateSymbolicLink(dir.File("data/imgs/link.ppm"), dir.File("elsewhere/secret.ppm"));
        Directory.CreateSymbolicLink(dir.File("data/out"), "../elsewhere");
        File.CreateSymbolicLink(dir.File("data/imgs/same.ppm"), "0.ppm");
        string csv = dir.File("data/data.csv");
        List<string> With(string row) { var edited = lines.ToList(); edited[1] = row; return edited; }
        foreach (var row in new[] { "0,imgs/link.ppm,0,0,0", "0,out/secret.ppm,0,0,0" })
        {
            File.WriteAllLines(csv, With(row));
            var ex = Assert.Throws<FormatException>(() => NormalizedCsvLoader.Load(csv, new NetpbmImageDecoder()));
            Assert.Contains("line 2", ex.Message);
            Assert.Contains("through a symbolic link", ex.Message);
            Assert.Contains(Path.Combine(dir.Path, "elsewhere", "secret.ppm"), ex.Message);
            // the documented opt-in accepts it
            Assert.Equal(2, NormalizedCsvLoader.Load(csv, new NetpbmImageDecoder(), allowPathsOutsideRoot: true).Train.Count);
        }
        File.WriteAllLines(csv, With("0,imgs/same.ppm,0,0,0"));
        Assert.Equal(2, NormalizedCsvLoader.Load(csv, new NetpbmImageDecoder()).Train.Count);
        // a data root that is itself a link is fine: the check compares real paths on both sides
        Directory.CreateSymbolicLink(dir.File("root-link"), dir.File("data"));
        File.WriteAllLines(csv, lines);
        Assert.Equal(2, NormalizedCsvLoader.Load(dir.File("root-link/data.csv"), new NetpbmImageDecoder()).Train.Count);
    }

    [Fact]
    public void Csv_reader_handles_quotes_and_reports_ragged_rows()
    {
        using var dir = new TempDirectory();
        File.WriteAllText(dir.File("q.csv"), "a,b\n\"x,1\",\"say \"\"hi\"\"\"\n2,3\n");
        var t = CsvTable.ReadCsv(dir.File("q.csv"));
        Assert.Equal("x,1", t.Text(0, 0));
        Assert.Equal("say \"hi\"", t.Text(0, 1));
        Assert.Equal(3, t.LineOf(1));
        File.WriteAllText(dir.File("r.csv"), "a,b\n1,2,3\n");
        var ex = Assert.Throws<FormatException>(() => CsvTable.ReadCsv(dir.File("r.csv")));
        Assert.Contains("line 2: 3 fields", ex.Message);
    }
}
