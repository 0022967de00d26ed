using GroupRobust.Data.Images;
using GroupRobust.Data.Loaders;
using GroupRobust.Tests.TestSupport;
using static TorchSharp.torch;

namespace GroupRobust.Tests.Data.Loaders;

/// <summary>Metadata files edited by hand, cut by a download, or written to break the loaders.</summary>
public class LoaderAdversarialTests
{
    /// <summary>Six images under data/imgs and the rows of a normalized CSV naming them (two per split).</summary>
    private static List<string> NormalizedFixture(TempDirectory dir)
    {
        Directory.CreateDirectory(dir.File("data/imgs"));
        var lines = new List<string> { "id,filename,split,y,a" };
        for (int i = 0; i < 6; i++)
        {
            NetpbmImageDecoder.WritePpm(dir.File($"data/imgs/{i}.ppm"), LoaderFixtures.Solid(8, 8, (byte)i, 0, 0));
            lines.Add($"{i},imgs/{i}.ppm,{i % 3},{i % 2},{i / 3 % 2}");
        }
        return lines;
    }

    /// <summary>Writes <paramref name="lines"/> with row <paramref name="row"/> replaced, loads, and returns the refusal.</summary>
    private static FormatException Refused(TempDirectory dir, List<string> lines, int row, string replacement, params string[] expected)
    {
        var edited = lines.ToList();
        edited[row] = replacement;
        string csv = dir.File("data/data.csv");
        File.WriteAllLines(csv, edited);
        var ex = Assert.Throws<FormatException>(() => NormalizedCsvLoader.Load(csv, new NetpbmImageDecoder()));
        Assert.Contains("data.csv", ex.Message);
        foreach (var e in expected) Assert.Contains(e, ex.Message);
        return ex;
    }

    [Fact]
    public void A_byte_order_mark_crlf_line_endings_and_quoted_fields_load_as_the_plain_file_does()
    {
        using var dir = new TempDirectory();
        LoaderFixtures.Waterbirds(dir.Path);
        var plain = WaterbirdsLoader.Load(dir.Path, new NetpbmImageDecoder());
        using var edited = new TempDirectory();
        LoaderFixtures.Waterbirds(edited.Path, editCsv: csv => "\uFEFF" + csv.Replace("001.Bird/img_1.ppm", "\"001.Bird/img_1.ppm\"").Replace("\n", "\r\n"));
        Assert.Equal(0xEF, File.ReadAllBytes(Path.Combine(edited.Path, "metadata.csv"))[0]);
        var windows = WaterbirdsLoader.Load(edited.Path, new NetpbmImageDecoder());
        Assert.Equal(plain.Train.Groups.ToArray(), windows.Train.Groups.ToArray());
        Assert.Equal(plain.Test.Labels.ToArray(), windows.Test.Labels.ToArray());
        Assert.EndsWith("img_1.ppm", ((ImageFileDataset)windows.Train).PathOf(0));
    }

    [Fact]
    public void Empty_header_only_unterminated_and_folder_metadata_files_are_named()
    {
        using var dir = new TempDirectory();
        LoaderFixtures.Waterbirds(dir.Path);
        string csv = Path.Combine(dir.Path, "metadata.csv");
        var text = File.ReadAllText(csv);
        FormatException Fails(string content)
        {
            File.WriteAllText(csv, content);
            var ex = Assert.Throws<FormatException>(() => WaterbirdsLoader.Load(dir.Path, new NetpbmImageDecoder()));
            Assert.Contains(csv, ex.Message);
            return ex;
        }
        Assert.Contains("the file is empty", Fails("").Message);
        Assert.Contains("the train split (code 0) has no rows", Fails(text.Split('\n')[0] + "\n").Message);
        Assert.Contains("line 3: unterminated quoted field", Fails(text.Replace("\n2,001.Bird/img_2.ppm", "\n2,\"001.Bird/img_2.ppm")).Message);
        File.Delete(csv);
        Directory.CreateDirectory(csv);
        Assert.Contains("metadata.csv", Assert.Throws<FileNotFoundException>(() => WaterbirdsLoader.Load(dir.Path, new NetpbmImageDecoder())).Message);
    }

    [Fact]
    public void Numbers_that_are_not_integers_name_the_column_the_line_and_the_value()
    {
        using var dir = new TempDirectory();
        var lines = NormalizedFixture(dir);
        Refused(dir, lines, 2, "1,imgs/1.ppm,1,NaN,0", "line 3", "column 'y' is 'NaN', not an integer");
        Refused(dir, lines, 2, "1,imgs/1.ppm,1,1.5,0", "line 3", "column 'y' is '1.5', not an integer");
        Refused(dir, lines, 2, "1,imgs/1.ppm,1,Infinity,0", "line 3", "column 'y' is 'Infinity'");
        Refused(dir, lines, 2, "1,imgs/1.ppm,1,,0", "line 3", "column 'y' is '', not an integer");
        Refused(dir, lines, 3, "2,imgs/2.ppm,-1,0,0", "line 4", "split code -1 is unknown");
    }

    [Fact]
    public void A_label_or_attribute_beyond_any_scheme_names_the_line_instead_of_overflowing()
    {
        using var dir = new TempDirectory();
        var lines = NormalizedFixture(dir);
        Refused(dir, lines, 4, "3,imgs/3.ppm,0,100000000,1", "line 5", "y is 100000000", "groups");
        Refused(dir, lines, 4, $"3,imgs/3.ppm,0,{int.MaxValue},1", "line 5", $"y is {int.MaxValue}");
        Refused(dir, lines, 5, "4,imgs/4.ppm,1,0,20000000", "line 6", "a is 20000000");
    }

    [Fact]
    public void Image_paths_with_a_nul_a_folder_or_an_image_listed_twice_are_refused_naming_the_line()
    {
        using var dir = new TempDirectory();
        var lines = NormalizedFixture(dir);
        Refused(dir, lines, 1, "0,imgs/0\0.ppm,0,0,0", "line 2", "a character no path may hold");
        Refused(dir, lines, 1, "0,imgs,0,0,0", "line 2", "is a folder, not an image file");
        Refused(dir, lines, 1, "0,imgs/,0,0,0", "line 2", "is a folder, not an image file");
        // the same image under two ids, in training and in test: one image would be trained and tested on
        var twice = Refused(dir, lines, 3, "2,imgs/0.ppm,2,0,0", "line 4", "also the image of line 2");
        Assert.Contains("0.ppm", twice.Message);
    }

    [Fact]
    public void CelebA_files_that_disagree_or_a_target_that_is_its_own_attribute_are_refused()
    {
        using var dir = new TempDirectory();
        LoaderFixtures.CelebA(dir.Path, txt: true);
        string txt = Path.Combine(dir.Path, "list_attr_celeba.txt");
        var lines = File.ReadAllLines(txt);
        // the count line announces 13 images but 12 rows follow (a download cut short), or is not a number
        File.WriteAllLines(txt, ["13", .. lines[1..]]);
        var cut = Assert.Throws<FormatException>(() => CelebALoader.Load(dir.Path, new NetpbmImageDecoder()));
        Assert.Contains("list_attr_celeba.txt, line 1", cut.Message);
        Assert.Contains("13", cut.Message);
        Assert.Contains("12 rows", cut.Message);
        File.WriteAllLines(txt, ["many", .. lines[1..]]);
        Assert.Contains("line 1", Assert.Throws<FormatException>(() => CelebALoader.Load(dir.Path, new NetpbmImageDecoder())).Message);
        File.WriteAllLines(txt, lines);
        Assert.Equal(4, CelebALoader.Load(dir.Path, new NetpbmImageDecoder()).Train.Count);

        using var csvDir = new TempDirectory();
        LoaderFixtures.CelebA(csvDir.Path, txt: false);
        string parts = Path.Combine(csvDir.Path, "list_eval_partition.csv");
        var partLines = File.ReadAllLines(parts);
        // an image the partition file lists but the attribute file lacks would be dropped without a word
        File.WriteAllLines(parts, [.. partLines, "000099.ppm,0"]);
        var extra = Assert.Throws<FormatException>(() => CelebALoader.Load(csvDir.Path, new NetpbmImageDecoder()));
        Assert.Contains("list_eval_partition.csv, line 14", extra.Message);
        Assert.Contains("'000099.ppm'", extra.Message);
        Assert.Contains("list_attr_celeba.csv", extra.Message);
        // a partition code of 3
        File.WriteAllLines(parts, [partLines[0], .. partLines[1..].Select((l, i) => i == 4 ? l[..^1] + "3" : l)]);
        Assert.Contains("partition code 3 is unknown", Assert.Throws<FormatException>(() => CelebALoader.Load(csvDir.Path, new NetpbmImageDecoder())).Message);
        File.WriteAllLines(parts, partLines);
        // the label and the spurious attribute are the same column: every group off the diagonal would be empty
        var same = Assert.Throws<ArgumentException>(() => CelebALoader.Load(csvDir.Path, new NetpbmImageDecoder(), target: "Male", attribute: "Male"));
        Assert.Equal("attribute", same.ParamName);
        Assert.Contains("'Male'", same.Message);
    }

    [Fact]
    public void Images_removed_or_replaced_by_a_folder_after_loading_are_named_at_the_batch()
    {
        using var dir = new TempDirectory();
        LoaderFixtures.Waterbirds(dir.Path);
        var splits = WaterbirdsLoader.Load(dir.Path, new NetpbmImageDecoder());
        string first = Path.Combine(dir.Path, "001.Bird/img_1.ppm");
        File.Delete(first);
        using var scope = NewDisposeScope();
        var gone = Assert.Throws<FileNotFoundException>(() => splits.Train.GetBatch([0, 1]));
        Assert.Contains("metadata.csv, line 2", gone.Message);
        Assert.Contains("img_1.ppm", gone.Message);
        Directory.CreateDirectory(first);
        var folder = Assert.Throws<InvalidDataException>(() => splits.Train.GetBatch([0, 1]));
        Assert.Contains("metadata.csv, line 2", folder.Message);
        Assert.Contains("not a regular file", folder.Message);
        using var fine = splits.Train.GetBatch([1, 2]);
        Assert.Equal(2, fine.Inputs.shape[0]);
    }
}
