using System.Runtime.InteropServices;
using System.Text;
using GroupRobust.Data.Features;
using GroupRobust.Data.Loaders;
using GroupRobust.Tests.TestSupport;
using static TorchSharp.torch;

namespace GroupRobust.Tests.Data.Features;

/// <summary>.npy and safetensors files a careless or hostile writer could hand over: cut, padded, ambiguous or impossible.</summary>
public class FeatureFileAdversarialTests
{
    private static byte[] Bytes<T>(params T[] values) where T : unmanaged => MemoryMarshal.AsBytes(values.AsSpan()).ToArray();

    private static string Refused(Func<object> read, params string[] expected)
    {
        var ex = Assert.Throws<FormatException>(read);
        foreach (var e in expected) Assert.Contains(e, ex.Message);
        return ex.Message;
    }

    [Fact]
    public void Truncated_and_padded_npy_files_are_refused_naming_the_file()
    {
        using var dir = new TempDirectory();
        string path = dir.File("cut.npy");
        FeatureFileTests.WriteNpy(path, "<f4", [3], Bytes(1f, 2f, 3f));
        var whole = File.ReadAllBytes(path);
        // the file ends inside the preamble (after the version, in the header-length field)
        File.WriteAllBytes(path, whole[..9]);
        Refused(() => NpyFile.Read(path), path, "truncated");
        // the file ends inside the header
        File.WriteAllBytes(path, whole[..40]);
        Refused(() => NpyFile.Read(path), path, "the header claims 118 bytes but the file has 30 after it");
        // one data byte missing, two bytes of garbage appended
        File.WriteAllBytes(path, whole[..^1]);
        Refused(() => NpyFile.Read(path), path, "needs 12 bytes but the file holds 11");
        File.WriteAllBytes(path, [.. whole, 0, 0]);
        Refused(() => NpyFile.Read(path), path, "needs 12 bytes but the file holds 14");
        // an empty file
        File.WriteAllBytes(path, []);
        Refused(() => NpyFile.Read(path), path, "not an .npy file");
    }

    [Fact]
    public void Npy_headers_with_impossible_shapes_or_versions_are_refused_naming_the_file()
    {
        using var dir = new TempDirectory();
        string path = dir.File("shape.npy");
        FeatureFileTests.WriteNpy(path, "<f4", [-1, 2], Bytes(1f, 2f));
        Refused(() => NpyFile.Read(path), path, "shape entry '-1' is not a size");
        FeatureFileTests.WriteNpy(path, "<f8", [1L << 62, 4], Bytes(1.0));
        Refused(() => NpyFile.Read(path), path, "overflows");
        FeatureFileTests.WriteNpy(path, "<f4", [1], Bytes(1f));
        var bytes = File.ReadAllBytes(path);
        bytes[6] = 4;   // format version 4.0
        File.WriteAllBytes(path, bytes);
        Refused(() => NpyFile.Read(path), path, "version 4 is not supported");
        // a folder where the file is expected
        Directory.CreateDirectory(dir.File("folder.npy"));
        Assert.Contains("folder.npy", Assert.Throws<FileNotFoundException>(() => NpyFile.Read(dir.File("folder.npy"))).Message);
    }

    private static void WriteRaw(string path, string header, int dataBytes)
    {
        var json = Encoding.UTF8.GetBytes(header);
        File.WriteAllBytes(path, [.. BitConverter.GetBytes((ulong)json.Length), .. json, .. new byte[dataBytes]]);
    }

    [Fact]
    public void Safetensors_headers_naming_a_tensor_twice_or_holding_impossible_entries_are_refused()
    {
        using var dir = new TempDirectory();
        string path = dir.File("bad.safetensors");
        // the same name twice: JSON readers disagree on which entry wins, so neither may
        WriteRaw(path, """{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},"a":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}}""", 8);
        Refused(() => SafetensorsFile.Read(path), path, "tensor 'a' twice");
        Refused(() => SafetensorsFile.Describe(path), path, "tensor 'a' twice");
        // a negative dimension whose byte count still matches
        WriteRaw(path, """{"a":{"dtype":"F32","shape":[-1],"data_offsets":[0,4]}}""", 4);
        Refused(() => SafetensorsFile.Read(path), path, "negative dimension in [-1]");
        // a byte range that ends before it begins
        WriteRaw(path, """{"a":{"dtype":"F32","shape":[1],"data_offsets":[4,0]}}""", 4);
        Refused(() => SafetensorsFile.Read(path), path, "claims bytes [4, 0)");
        // offsets that are not whole numbers, an entry that is not an object
        WriteRaw(path, """{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4.5]}}""", 4);
        Refused(() => SafetensorsFile.Read(path), path, "tensor 'a' needs dtype, shape and data_offsets");
        WriteRaw(path, """{"a":5}""", 0);
        Refused(() => SafetensorsFile.Read(path), path, "tensor 'a' needs dtype, shape and data_offsets");
        // a header that is a JSON array, an empty header, an empty file
        WriteRaw(path, "[]", 0);
        Refused(() => SafetensorsFile.Read(path), path, "not a JSON object");
        WriteRaw(path, "", 0);
        Refused(() => SafetensorsFile.Read(path), path, "not valid JSON");
        File.WriteAllBytes(path, []);
        Refused(() => SafetensorsFile.Read(path), path, "0 bytes, too short");
    }

    [Fact]
    public void Asking_for_a_tensor_twice_reads_it_once_and_leaks_nothing()
    {
        using var dir = new TempDirectory();
        string path = dir.File("x.safetensors");
        FeatureFileTests.WriteSafetensors(path, ("x", "F32", [2], Bytes(1f, 2f)), ("y", "I64", [1], Bytes(7L)));
        var twice = SafetensorsFile.Read(path, ["x", "x"]);
        Assert.Equal(["x"], twice.Keys);
        foreach (var t in twice.Values) t.Dispose();
        LeakCheck.AssertFlat(() =>
        {
            foreach (var t in SafetensorsFile.Read(path, ["x", "y", "x"]).Values) t.Dispose();
        }, warmup: 2, steps: 20);
        Assert.Equal("names", Assert.Throws<ArgumentException>(() => SafetensorsFile.Read(path, ["x", null!])).ParamName);
    }

    [Fact]
    public void Features_with_NaN_or_infinity_are_refused_by_the_multinli_loader_naming_the_file_and_the_row()
    {
        using var dir = new TempDirectory();
        var csv = dir.File("metadata_random.csv");
        int n = 18;
        File.WriteAllLines(csv, [",gold_label,sentence2_has_negation,split", .. Enumerable.Range(0, n).Select(i => $"{i},{i % 3},{i / 3 % 2},{i / 6}")]);
        var values = Enumerable.Range(0, 2 * n).Select(i => (float)i).ToArray();
        values[2 * 7 + 1] = float.NaN;
        FeatureFileTests.WriteNpy(dir.File("emb.npy"), "<f4", [n, 2], Bytes(values));
        Refused(() => MultiNliLoader.Load(csv, dir.File("emb.npy")), "emb.npy", "row 7", "not finite");
        var doubles = Enumerable.Range(0, 3 * n).Select(i => (double)i).ToArray();
        doubles[3 * 12] = double.NegativeInfinity;
        FeatureFileTests.WriteSafetensors(dir.File("emb.safetensors"), ("embeddings", "F64", [n, 3], Bytes(doubles)));
        Refused(() => MultiNliLoader.Load(csv, dir.File("emb.safetensors")), "emb.safetensors", "row 12", "not finite");
        // finite features still load
        values[2 * 7 + 1] = 0;
        FeatureFileTests.WriteNpy(dir.File("emb.npy"), "<f4", [n, 2], Bytes(values));
        using var ok = MultiNliLoader.Load(csv, dir.File("emb.npy"));
        Assert.Equal(6, ok.Train.Count);
    }
}
