using GroupRobust.Data.Idx;
using GroupRobust.Tests.TestSupport;

namespace GroupRobust.Tests.Data.Idx;

public class IdxFileTests
{
    [Theory]
    [InlineData("a.idx")]
    [InlineData("a.idx.gz")]
    public void Round_trip_plain_and_gzip(string name)
    {
        using var dir = new TempDirectory();
        var data = Enumerable.Range(0, 2 * 3 * 4).Select(i => (byte)(i * 7)).ToArray();
        IdxFile.Write(dir.File(name), new IdxArray([2, 3, 4], data));
        var back = IdxFile.Read(dir.File(name));
        Assert.Equal(new[] { 2, 3, 4 }, back.Dimensions);
        Assert.Equal(data, back.Data);
        Assert.Equal(2, back.Count);
        Assert.Equal(12, back.ItemSize);
    }

    [Fact]
    public void Corrupted_files_are_named_and_explained()
    {
        using var dir = new TempDirectory();
        var path = dir.File("x.idx");
        IdxFile.Write(path, new IdxArray([4, 2], new byte[8]));
        var bytes = File.ReadAllBytes(path);

        File.WriteAllBytes(path, bytes[..^3]);
        var truncated = Assert.Throws<InvalidDataException>(() => IdxFile.Read(path));
        Assert.Contains("truncated", truncated.Message);
        Assert.Contains(path, truncated.Message);

        File.WriteAllBytes(path, [.. bytes, 1]);
        Assert.Contains("extra bytes", Assert.Throws<InvalidDataException>(() => IdxFile.Read(path)).Message);

        var badMagic = bytes.ToArray();
        badMagic[0] = 7;
        File.WriteAllBytes(path, badMagic);
        Assert.Contains("magic", Assert.Throws<InvalidDataException>(() => IdxFile.Read(path)).Message);

        var badType = bytes.ToArray();
        badType[2] = 0x0D;
        File.WriteAllBytes(path, badType);
        Assert.Contains("element type 0x0D", Assert.Throws<InvalidDataException>(() => IdxFile.Read(path)).Message);

        File.WriteAllBytes(path, [0, 0]);
        Assert.Contains("truncated", Assert.Throws<InvalidDataException>(() => IdxFile.Read(path)).Message);
        Assert.Throws<FileNotFoundException>(() => IdxFile.Read(dir.File("missing.idx")));
    }

    [Fact]
    public void A_header_claiming_gigabytes_in_a_tiny_file_fails_without_allocating_them()
    {
        using var dir = new TempDirectory();
        // magic 00 00 08 01, one dimension of 0x7F000000 bytes (2.1 GB), then nothing: 8 bytes in all
        byte[] header = [0, 0, 8, 1, 0x7F, 0x00, 0x00, 0x00];
        File.WriteAllBytes(dir.File("huge.idx"), header);
        long before = GC.GetTotalAllocatedBytes(precise: true);
        var plain = Assert.Throws<InvalidDataException>(() => IdxFile.Read(dir.File("huge.idx")));
        Assert.Contains("huge.idx", plain.Message);
        Assert.Contains("only 0 bytes follow", plain.Message);
        using (var gz = new System.IO.Compression.GZipStream(File.Create(dir.File("huge.idx.gz")), System.IO.Compression.CompressionLevel.Fastest))
            gz.Write(header);
        var compressed = Assert.Throws<InvalidDataException>(() => IdxFile.Read(dir.File("huge.idx.gz")));
        Assert.Contains("huge.idx.gz", compressed.Message);
        Assert.Contains("truncated", compressed.Message);
        Assert.True(GC.GetTotalAllocatedBytes(precise: true) - before < 100_000_000, "the 2 GB the header claims must not be allocated");
    }
}
