using GroupRobust.Data.Images;
using GroupRobust.Imaging;

namespace GroupRobust.Tests.Data.Loaders;

/// <summary>Writes small datasets in the papers' metadata formats.</summary>
internal static class LoaderFixtures
{
    public static DecodedImage Solid(int w, int h, byte r, byte g, byte b)
    {
        var rgb = new byte[w * h * 3];
        for (int i = 0; i < rgb.Length; i += 3) (rgb[i], rgb[i + 1], rgb[i + 2]) = (r, g, b);
        return new DecodedImage(w, h, rgb);
    }

    /// <summary>Waterbirds: 12 rows, 4 per split, one per group; images as .ppm (Netpbm) or .jpg (Skia).</summary>
    public static void Waterbirds(string root, string extension = ".ppm", Func<string, string>? editCsv = null)
    {
        Directory.CreateDirectory(Path.Combine(root, "001.Bird"));
        var lines = new List<string> { "img_id,img_filename,y,split,place,place_filename" };
        int id = 1;
        for (int split = 0; split < 3; split++)
        for (int y = 0; y < 2; y++)
        for (int place = 0; place < 2; place++)
        {
            var file = $"001.Bird/img_{id}{extension}";
            var image = Solid(40 + 10 * id, 30 + 5 * id, (byte)(y * 200), (byte)(place * 200), (byte)(split * 100));
            if (extension == ".ppm") NetpbmImageDecoder.WritePpm(Path.Combine(root, file), image);
            else SkiaImageDecoder.Encode(Path.Combine(root, file), image);
            lines.Add($"{id},{file},{y},{split},{place},/b/beach/00000{id}.jpg");
            id++;
        }
        var text = string.Join("\n", lines) + "\n";
        File.WriteAllText(Path.Combine(root, "metadata.csv"), editCsv is null ? text : editCsv(text));
    }

    private static readonly string[] CelebAAttributes = ["5_o_Clock_Shadow", "Blond_Hair", "Male", "Smiling"];

    /// <summary>CelebA: 12 images; Kaggle CSV pair or the original whitespace .txt pair.</summary>
    public static void CelebA(string root, bool txt)
    {
        var images = Path.Combine(root, "img_align_celeba");
        Directory.CreateDirectory(images);
        var attrRows = new List<string>();
        var partRows = new List<string>();
        for (int i = 0; i < 12; i++)
        {
            var name = $"{i + 1:000000}.ppm";
            NetpbmImageDecoder.WritePpm(Path.Combine(images, name), Solid(200, 220, (byte)(i * 20), 10, 10));
            int blond = i % 2 == 0 ? 1 : -1, male = i / 2 % 2 == 0 ? 1 : -1;
            var values = new[] { -1, blond, male, 1 };
            attrRows.Add(txt ? $"{name} {string.Join(" ", values.Select(v => v.ToString().PadLeft(2)))}" : $"{name},{string.Join(",", values)}");
            partRows.Add(txt ? $"{name} {i / 4}" : $"{name},{i / 4}");
        }
        if (txt)
        {
            File.WriteAllLines(Path.Combine(root, "list_attr_celeba.txt"), [attrRows.Count.ToString(), string.Join(" ", CelebAAttributes), .. attrRows]);
            File.WriteAllLines(Path.Combine(root, "list_eval_partition.txt"), partRows);
        }
        else
        {
            File.WriteAllLines(Path.Combine(root, "list_attr_celeba.csv"), ["image_id," + string.Join(",", CelebAAttributes), .. attrRows]);
            File.WriteAllLines(Path.Combine(root, "list_eval_partition.csv"), ["image_id,partition", .. partRows]);
        }
    }
}
