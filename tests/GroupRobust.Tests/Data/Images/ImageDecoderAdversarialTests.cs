using System.Buffers.Binary;
using System.IO.Compression;
using System.Text;
using GroupRobust.Data.Images;
using GroupRobust.Groups;
using GroupRobust.Imaging;
using GroupRobust.Tests.TestSupport;

namespace GroupRobust.Tests.Data.Images;

/// <summary>Image files that lie about their size, end early, are empty, are folders or devices, and preprocessing that cannot work.</summary>
public class ImageDecoderAdversarialTests
{
    private static void Throws<T>(Action decode, params string[] expected) where T : Exception
    {
        var ex = Assert.Throws<T>(decode);
        foreach (var e in expected) Assert.Contains(e, ex.Message);
    }

    [Fact]
    public void Netpbm_headers_claiming_impossible_sizes_are_refused_before_allocating()
    {
        using var dir = new TempDirectory();
        string path = dir.File("huge.ppm");
        var decoder = new NetpbmImageDecoder();
        long before = GC.GetTotalAllocatedBytes(precise: true);
        // width x height x 3 overflows a 64-bit count
        File.WriteAllBytes(path, [.. "P6\n2147483647 2147483647\n255\n"u8.ToArray(), 1, 2, 3]);
        Throws<InvalidDataException>(() => decoder.Decode(path), path, "2147483647 x 2147483647");
        // ten billion pixels claimed by a file of a few bytes
        File.WriteAllBytes(path, [.. "P6\n100000 100000\n255\n"u8.ToArray(), 1, 2, 3]);
        Throws<InvalidDataException>(() => decoder.Decode(path), path, "100000 x 100000");
        Assert.True(GC.GetTotalAllocatedBytes(precise: true) - before < 50_000_000, "the claimed pixels must not be allocated");
        // the header ends right after maxval: no pixel at all
        File.WriteAllBytes(path, "P6\n2 2\n255"u8.ToArray());
        Throws<InvalidDataException>(() => decoder.Decode(path), path, "truncated: 0 pixel bytes, expected 12");
        // 16-bit samples, a negative width
        File.WriteAllBytes(path, [.. "P5\n1 1\n65535\n"u8.ToArray(), 0, 0]);
        Throws<InvalidDataException>(() => decoder.Decode(path), path, "maxval 65535");
        File.WriteAllBytes(path, [.. "P5\n-5 1\n255\n"u8.ToArray(), 0]);
        Throws<InvalidDataException>(() => decoder.Decode(path), path, "width '-5' is not a positive integer");
    }

    [Fact]
    public void The_netpbm_decoder_refuses_empty_files_devices_folders_and_other_formats()
    {
        using var dir = new TempDirectory();
        var decoder = new NetpbmImageDecoder();
        File.WriteAllBytes(dir.File("empty.ppm"), []);
        Throws<InvalidDataException>(() => decoder.Decode(dir.File("empty.ppm")), "empty.ppm", "empty");
        Throws<InvalidDataException>(() => decoder.Decode("/dev/zero"), "/dev/zero", "not a regular file");
        Directory.CreateDirectory(dir.File("folder.ppm"));
        Throws<InvalidDataException>(() => decoder.Decode(dir.File("folder.ppm")), "folder.ppm", "not a regular file");
        Throws<FileNotFoundException>(() => decoder.Decode(dir.File("absent.ppm")), "absent.ppm");
        SkiaImageDecoder.Encode(dir.File("photo.png"), LoaderFixtureImages.Noise(4, 4, 1));
        Throws<InvalidDataException>(() => decoder.Decode(dir.File("photo.png")), "photo.png", "is not a binary PGM (P5) or PPM (P6)");
    }

    /// <summary>A PNG whose header claims <paramref name="width"/> x <paramref name="height"/> RGB pixels, with one tiny compressed row (valid chunk CRCs).</summary>
    private static byte[] PngClaiming(int width, int height)
    {
        var png = new MemoryStream();
        png.Write([0x89, (byte)'P', (byte)'N', (byte)'G', 0x0D, 0x0A, 0x1A, 0x0A]);
        void Chunk(string type, byte[] data)
        {
            var length = new byte[4];
            BinaryPrimitives.WriteInt32BigEndian(length, data.Length);
            png.Write(length);
            var body = Encoding.ASCII.GetBytes(type).Concat(data).ToArray();
            png.Write(body);
            var crc = new byte[4];
            BinaryPrimitives.WriteUInt32BigEndian(crc, Crc32(body));
            png.Write(crc);
        }
        var header = new byte[13];
        BinaryPrimitives.WriteInt32BigEndian(header, width);
        BinaryPrimitives.WriteInt32BigEndian(header.AsSpan(4), height);
        header[8] = 8;   // bit depth
        header[9] = 2;   // RGB
        Chunk("IHDR", header);
        var idat = new MemoryStream();
        using (var z = new ZLibStream(idat, CompressionLevel.Fastest, leaveOpen: true)) z.Write(new byte[64]);
        Chunk("IDAT", idat.ToArray());
        Chunk("IEND", []);
        return png.ToArray();
    }

    private static uint Crc32(byte[] data)
    {
        uint crc = 0xFFFFFFFF;
        foreach (byte b in data)
        {
            crc ^= b;
            for (int k = 0; k < 8; k++) crc = (crc & 1) != 0 ? (crc >> 1) ^ 0xEDB88320 : crc >> 1;
        }
        return ~crc;
    }

    [Fact]
    public void Skia_refuses_an_image_whose_header_claims_more_pixels_than_it_may_hold()
    {
        using var dir = new TempDirectory();
        string path = dir.File("bomb.png");
        File.WriteAllBytes(path, PngClaiming(50_000, 50_000));
        var decoder = new SkiaImageDecoder();
        Throws<InvalidDataException>(() => decoder.Decode(path), path, "50000 x 50000");
        var buffer = new byte[32 * 32 * 3];
        Throws<InvalidDataException>(() => decoder.DecodeResized(path, null, 32, 32, buffer), path, "50000 x 50000");
        // the same header with a modest size decodes
        File.WriteAllBytes(path, PngClaiming(4, 4));
        Assert.Equal(4, decoder.Decode(path).Width);
    }

    [Fact]
    public void Skia_refuses_truncated_empty_and_folder_inputs_naming_the_file()
    {
        using var dir = new TempDirectory();
        var decoder = new SkiaImageDecoder();
        string path = dir.File("cut.png");
        SkiaImageDecoder.Encode(path, LoaderFixtureImages.Noise(64, 64, 7));
        var whole = File.ReadAllBytes(path);
        File.WriteAllBytes(path, whole[..(whole.Length * 3 / 5)]);
        Throws<InvalidDataException>(() => decoder.Decode(path), path, "truncated");
        Throws<InvalidDataException>(() => decoder.DecodeResized(path, null, 16, 16, new byte[16 * 16 * 3]), path, "truncated");
        File.WriteAllBytes(dir.File("empty.jpg"), []);
        Throws<InvalidDataException>(() => decoder.Decode(dir.File("empty.jpg")), "empty.jpg", "not a decodable image");
        Directory.CreateDirectory(dir.File("folder.jpg"));
        Throws<FileNotFoundException>(() => decoder.Decode(dir.File("folder.jpg")), "folder.jpg");
    }

    [Fact]
    public void Preprocessing_that_cannot_work_is_refused_when_it_is_made_naming_the_setting()
    {
        Assert.Equal("Std", Assert.Throws<ArgumentException>(() => ImagePreprocessing.Waterbirds with { Std = [0.2f, 0f, 0.2f] }).ParamName);
        Assert.Equal("Std", Assert.Throws<ArgumentException>(() => new ImagePreprocessing { Std = [0.2f, float.NaN, 0.2f] }).ParamName);
        var mean = Assert.Throws<ArgumentException>(() => new ImagePreprocessing { Mean = [0.5f, 0.5f] });
        Assert.Equal("Mean", mean.ParamName);
        Assert.Contains("2 values", mean.Message);
        Assert.Equal("CenterCrop", Assert.Throws<ArgumentOutOfRangeException>(() => new ImagePreprocessing { CenterCrop = 0 }).ParamName);
        Assert.Equal("PreCrop", Assert.Throws<ArgumentOutOfRangeException>(() => new ImagePreprocessing { PreCrop = -1 }).ParamName);
        Assert.Equal("Resize", Assert.Throws<ArgumentOutOfRangeException>(() => new ImagePreprocessing { Resize = (0, 224) }).ParamName);
        // settings that contradict each other are refused where they meet: a mean without a deviation, a crop larger than the resize
        var image = LoaderFixtureImages.Noise(8, 8, 3);
        var half = Assert.Throws<InvalidOperationException>(() => new ImagePreprocessing { Mean = ImagePreprocessing.ImageNetMean }.Apply(image));
        Assert.Contains("Mean is given without Std", half.Message);
        var crop = new ImagePreprocessing { Resize = (16, 16), CenterCrop = 24 };
        Assert.Contains("CenterCrop 24 is larger than the resized 16 x 16", Assert.Throws<InvalidOperationException>(() => crop.Apply(image)).Message);
        using var dir = new TempDirectory();
        NetpbmImageDecoder.WritePpm(dir.File("a.ppm"), image);
        var dataset = Assert.Throws<ArgumentException>(() => new ImageFileDataset([dir.File("a.ppm"), dir.File("a.ppm")], [0, 1], null, GroupScheme.Binary(),
            new NetpbmImageDecoder(), crop));
        Assert.Equal("preprocessing", dataset.ParamName);
    }
}

/// <summary>Small noisy images for the decoder tests.</summary>
internal static class LoaderFixtureImages
{
    public static DecodedImage Noise(int w, int h, int seed)
    {
        var rgb = new byte[w * h * 3];
        new Random(seed).NextBytes(rgb);
        return new DecodedImage(w, h, rgb);
    }
}
