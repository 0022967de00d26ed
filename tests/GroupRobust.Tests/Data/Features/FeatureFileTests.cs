using System.Text;
using System.Text.Json;
using GroupRobust.Data.Features;
using GroupRobust.Data.Loaders;
using GroupRobust.Tests.TestSupport;
using TorchSharp;
using static TorchSharp.torch;

namespace GroupRobust.Tests.Data.Features;

/// <summary>.npy and safetensors feature files, written here byte by byte as NumPy and safetensors define them.</summary>
public class FeatureFileTests
{
    /// <summary>An .npy file (version 1): magic, version, header length, the header dict padded to 64 bytes, the data.</summary>
    internal static void WriteNpy(string path, string descr, long[] shape, byte[] data, bool fortran = false)
    {
        string dims = shape.Length == 1 ? $"{shape[0]}," : string.Join(", ", shape);
        string header = $"{{'descr': '{descr}', 'fortran_order': {(fortran ? "True" : "False")}, 'shape': ({dims}), }}";
        int total = 10 + header.Length + 1;
        header = header.PadRight(header.Length + (64 - total % 64) % 64) + "\n";
        using var w = new BinaryWriter(File.Create(path));
        w.Write(new byte[] { 0x93, (byte)'N', (byte)'U', (byte)'M', (byte)'P', (byte)'Y', 1, 0 });
        w.Write((ushort)header.Length);
        w.Write(Encoding.Latin1.GetBytes(header));
        w.Write(data);
    }

    /// <summary>A safetensors file: u64 header length, the JSON header, the concatenated data.</summary>
    internal static void WriteSafetensors(string path, params (string Name, string Dtype, long[] Shape, byte[] Data)[] tensors)
    {
        var header = new Dictionary<string, object> { ["__metadata__"] = new Dictionary<string, string> { ["format"] = "pt" } };
        long offset = 0;
        foreach (var t in tensors)
        {
            header[t.Name] = new { dtype = t.Dtype, shape = t.Shape, data_offsets = new[] { offset, offset + t.Data.Length } };
            offset += t.Data.Length;
        }
        var json = JsonSerializer.SerializeToUtf8Bytes(header);
        using var w = new BinaryWriter(File.Create(path));
        w.Write((ulong)json.Length);
        w.Write(json);
        foreach (var t in tensors) w.Write(t.Data);
    }

    private static byte[] Bytes<T>(params T[] values) where T : unmanaged => System.Runtime.InteropServices.MemoryMarshal.AsBytes(values.AsSpan()).ToArray();

    [Fact]
    public void Npy_arrays_read_with_their_dtype_and_shape()
    {
        using var dir = new TempDirectory();
        using var scope = NewDisposeScope();
        WriteNpy(dir.File("f.npy"), "<f4", [2, 3], Bytes(1f, 2f, 3f, 4f, 5f, 6f));
        var f = NpyFile.Read(dir.File("f.npy"));
        Assert.Equal(ScalarType.Float32, f.dtype);
        Assert.Equal([2L, 3L], f.shape);
        Assert.Equal(6f, f[1, 2].item<float>());
        WriteNpy(dir.File("i.npy"), "<i8", [4], Bytes(7L, -1L, 0L, 1L << 40));
        Assert.Equal(new[] { 7L, -1L, 0L, 1L << 40 }, NpyFile.Read(dir.File("i.npy")).data<long>().ToArray());
    }

    [Fact]
    public void Bad_npy_files_name_the_file_and_the_problem_before_allocating()
    {
        using var dir = new TempDirectory();
        string path = dir.File("bad.npy");
        WriteNpy(path, "<f4", [1000000000, 1000], Bytes(1f, 2f));   // claims 4 TB in a tiny file
        Assert.Contains("needs 4000000000000 bytes but the file holds 8", Assert.Throws<FormatException>(() => NpyFile.Read(path)).Message);
        WriteNpy(path, "<f4", [2], Bytes(1f, 2f), fortran: true);
        Assert.Contains("Fortran order", Assert.Throws<FormatException>(() => NpyFile.Read(path)).Message);
        WriteNpy(path, ">f4", [2], Bytes(1f, 2f));
        Assert.Contains("dtype '>f4' is not supported", Assert.Throws<FormatException>(() => NpyFile.Read(path)).Message);
        File.WriteAllBytes(path, Encoding.ASCII.GetBytes("not numpy at all"));
        var ex = Assert.Throws<FormatException>(() => NpyFile.Read(path));
        Assert.Contains(path, ex.Message);
        Assert.Contains("not an .npy file", ex.Message);
    }

    [Fact]
    public void Safetensors_tensors_read_by_name_with_their_dtypes()
    {
        using var dir = new TempDirectory();
        using var scope = NewDisposeScope();
        var bf16 = torch.tensor(new[] { 1.5f, -2f }).to(ScalarType.BFloat16);
        WriteSafetensors(dir.File("t.safetensors"),
            ("weights", "F32", [2, 2], Bytes(1f, 2f, 3f, 4f)),
            ("ids", "I64", [3], Bytes(5L, 6L, 7L)),
            ("half", "BF16", [2], bf16.bytes.ToArray()));
        var described = SafetensorsFile.Describe(dir.File("t.safetensors"))["ids"];
        Assert.Equal("I64", described.Dtype);
        Assert.Equal([3L], described.Shape);
        var all = SafetensorsFile.Read(dir.File("t.safetensors"));
        Assert.Equal(4f, all["weights"][1, 1].item<float>());
        Assert.Equal(new[] { 5L, 6L, 7L }, all["ids"].data<long>().ToArray());
        Assert.Equal(ScalarType.BFloat16, all["half"].dtype);
        Assert.Equal(-2f, all["half"][1].to(ScalarType.Float32).item<float>());
        foreach (var t in all.Values) t.Dispose();
        var some = SafetensorsFile.Read(dir.File("t.safetensors"), ["ids"]);
        Assert.Single(some);
        some["ids"].Dispose();
    }

    [Fact]
    public void Bad_safetensors_files_name_the_file_and_the_tensor()
    {
        using var dir = new TempDirectory();
        string path = dir.File("bad.safetensors");
        WriteSafetensors(path, ("x", "F32", [2], Bytes(1f, 2f)));
        Assert.Contains("no tensor 'y'; the file holds x", Assert.Throws<FormatException>(() => SafetensorsFile.Read(path, ["y"])).Message);
        WriteSafetensors(path, ("x", "F32", [3], Bytes(1f, 2f)));
        Assert.Contains("tensor 'x' of shape [3] needs 12 bytes", Assert.Throws<FormatException>(() => SafetensorsFile.Read(path)).Message);
        WriteSafetensors(path, ("x", "C64", [1], Bytes(1f, 2f)));
        Assert.Contains("dtype C64", Assert.Throws<FormatException>(() => SafetensorsFile.Read(path)).Message);
        // a header length of 2^40 in a small file, and offsets past the data
        File.WriteAllBytes(path, [.. BitConverter.GetBytes(1UL << 40), .. "{}"u8.ToArray()]);
        Assert.Contains("the header claims 1099511627776 bytes", Assert.Throws<FormatException>(() => SafetensorsFile.Read(path)).Message);
        var json = "{\"x\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,400]}}"u8.ToArray();
        File.WriteAllBytes(path, [.. BitConverter.GetBytes((ulong)json.Length), .. json, 0, 0, 0, 0]);
        Assert.Contains("claims bytes [0, 400) of a data section of 4 bytes", Assert.Throws<FormatException>(() => SafetensorsFile.Read(path)).Message);
        File.WriteAllBytes(path, [.. BitConverter.GetBytes(4UL), .. "{no}"u8.ToArray()]);
        var ex = Assert.Throws<FormatException>(() => SafetensorsFile.Read(path));
        Assert.Contains(path, ex.Message);
        Assert.Contains("not valid JSON", ex.Message);
    }

    [Fact]
    public void Safetensors_data_must_be_tiled_by_the_tensors_without_gap_overlap_or_trailing_bytes()
    {
        using var dir = new TempDirectory();
        string path = dir.File("tiles.safetensors");
        void Write(string header, int dataBytes)
        {
            var json = System.Text.Encoding.UTF8.GetBytes(header);
            File.WriteAllBytes(path, [.. BitConverter.GetBytes((ulong)json.Length), .. json, .. new byte[dataBytes]]);
        }
        Write("""{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},"b":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}}""", 8);
        Assert.Equal(2, SafetensorsFile.Describe(path).Count);
        Write("""{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},"b":{"dtype":"F32","shape":[1],"data_offsets":[8,12]}}""", 12);
        var gap = Assert.Throws<FormatException>(() => SafetensorsFile.Read(path));
        Assert.Contains(path, gap.Message);
        Assert.Contains("tensor 'b' starts at byte 8 of the data section but the tensors before it end at 4 (a gap)", gap.Message);
        Write("""{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}}""", 8);
        Assert.Contains("(an overlap)", Assert.Throws<FormatException>(() => SafetensorsFile.Describe(path)).Message);
        Write("""{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}""", 6);
        Assert.Contains("2 bytes follow the last tensor", Assert.Throws<FormatException>(() => SafetensorsFile.Read(path)).Message);
    }

    [Fact]
    public void The_conversion_scripts_safetensors_writer_is_read_back_exactly()
    {
        // eng/convert-multinli-features.py writes the file by hand; its writer must produce what SafetensorsFile reads
        using var dir = new TempDirectory();
        string script = Path.Combine(RepositoryPaths.Root, "eng", "convert-multinli-features.py");
        string target = dir.File("out.safetensors");
        string code = "import importlib.util, struct, sys\n" +
                      $"spec = importlib.util.spec_from_file_location('conv', r'{script}')\n" +
                      "conv = importlib.util.module_from_spec(spec); spec.loader.exec_module(conv)\n" +
                      "ids = struct.pack('<6q', *range(6)); lab = struct.pack('<2q', 1, 2)\n" +
                      $"conv.write_safetensors(r'{target}', {{'input_ids': ('I64', [2, 3], ids), 'label_ids': ('I64', [2], lab)}})\n";
        var start = new System.Diagnostics.ProcessStartInfo("python3") { RedirectStandardInput = true, RedirectStandardError = true, UseShellExecute = false };
        using var python = System.Diagnostics.Process.Start(start)!;
        python.StandardInput.Write(code);
        python.StandardInput.Close();
        string errors = python.StandardError.ReadToEnd();
        python.WaitForExit();
        Assert.True(python.ExitCode == 0, errors);
        var read = SafetensorsFile.Read(target);
        using var scope = NewDisposeScope();
        Assert.Equal(new long[] { 0, 1, 2, 3, 4, 5 }, read["input_ids"].data<long>().ToArray());
        Assert.Equal([2L, 3L], read["input_ids"].shape);
        Assert.Equal(new long[] { 1, 2 }, read["label_ids"].data<long>().ToArray());
        foreach (var t in read.Values) t.Dispose();
    }

    [Fact]
    public void MultiNli_reads_group_DROs_converted_bert_features_and_checks_their_labels()
    {
        using var dir = new TempDirectory();
        var csv = dir.File("metadata_random.csv");
        int n = 18, length = 4;
        File.WriteAllLines(csv, [",gold_label,sentence2_has_negation,split", .. Enumerable.Range(0, n).Select(i => $"{i},{i % 3},{i / 3 % 2},{i / 6}")]);
        long[] Seq(int k) => Enumerable.Range(0, n * length).Select(i => (long)(i * 10 + k)).ToArray();
        long[] gold = Enumerable.Range(0, n).Select(i => (long)(i % 3)).ToArray();
        void Write(long[] labels) => WriteSafetensors(dir.File("mnli.safetensors"),
            ("input_ids", "I64", [n, length], Bytes(Seq(1))), ("input_mask", "I64", [n, length], Bytes(Seq(2))),
            ("segment_ids", "I64", [n, length], Bytes(Seq(3))), ("label_ids", "I64", [n], Bytes(labels)));
        Write(gold);
        using (var splits = MultiNliLoader.Load(csv, dir.File("mnli.safetensors")))
        using (var scope = NewDisposeScope())
        {
            Assert.Equal(6, splits.Train.Count);
            using var b = splits.Test.GetBatch([1]);   // test row 1 = metadata row 13
            Assert.Equal([1L, length, 3L], b.Inputs.shape);
            Assert.Equal(new[] { 13 * 4 * 10 + 1L, 13 * 4 * 10 + 2L, 13 * 4 * 10 + 3L }, b.Inputs[0, 0].data<long>().ToArray());
        }
        // features in another order than the metadata: the labels disagree with gold_label, as group_DRO checks
        var shuffled = gold.ToArray();
        (shuffled[4], shuffled[5]) = (shuffled[5], shuffled[4]);
        Write(shuffled);
        var ex = Assert.Throws<FormatException>(() => MultiNliLoader.Load(csv, dir.File("mnli.safetensors")));
        Assert.Contains("line 6", ex.Message);
        Assert.Contains("gold_label is 1 but the features' label for this row is 2", ex.Message);
        // one embedding matrix in an .npy file works too
        WriteNpy(dir.File("emb.npy"), "<f4", [n, 2], Bytes(Enumerable.Range(0, 2 * n).Select(i => (float)i).ToArray()));
        using var fromNpy = MultiNliLoader.Load(csv, dir.File("emb.npy"));
        using (var scope = NewDisposeScope())
            Assert.Equal([2L, 2L], fromNpy.Validation.GetBatch([0, 1]).Inputs.shape);
    }
}
