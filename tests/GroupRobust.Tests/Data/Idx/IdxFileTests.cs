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
}
