using System.Diagnostics;
using System.Runtime.InteropServices;
using GroupRobust.Data;
using GroupRobust.Data.Images;
using GroupRobust.Groups;
using GroupRobust.Imaging;
using SkiaSharp;
using static TorchSharp.torch;

namespace GroupRobust.Benchmarks;

/// <summary>
/// Images per second through <see cref="ImageFileDataset"/> with Waterbirds' preprocessing (resize 256 x 256, centre
/// crop 224, ImageNet normalisation) on Waterbirds-sized JPEG fixtures (500 x 375, quality 90, a smooth scene with
/// noise so the files are as large as real photographs), in batches of 64: decoding, resizing and the tensor, as a
/// ratio to a raw parallel Skia decode of the same files measured in the same run, pass by pass.
/// </summary>
internal static class ImageBenchmark
{
    public static void Run(int images, int repetitions)
    {
        var dir = Path.Combine(Path.GetTempPath(), $"grouprobust-images-{Environment.ProcessId}");
        Directory.CreateDirectory(dir);
        try
        {
            var rng = new Random(0);
            var paths = new string[images];
            long bytes = 0;
            for (int i = 0; i < images; i++)
            {
                int w = 500, h = 375;
                var rgb = new byte[w * h * 3];
                for (int y = 0; y < h; y++)
                    for (int x = 0; x < w; x++)
                    {
                        int o = (y * w + x) * 3;
                        rgb[o] = (byte)Math.Clamp(x * 255 / w + rng.Next(-20, 21), 0, 255);
                        rgb[o + 1] = (byte)Math.Clamp(y * 255 / h + rng.Next(-20, 21), 0, 255);
                        rgb[o + 2] = (byte)Math.Clamp(128 + (int)(60 * Math.Sin((x + i) / 17.0) * Math.Cos(y / 23.0)) + rng.Next(-20, 21), 0, 255);
                    }
                paths[i] = Path.Combine(dir, $"{i:D4}.jpg");
                SkiaImageDecoder.Encode(paths[i], new DecodedImage(w, h, rgb), 90);
                bytes += new FileInfo(paths[i]).Length;
            }
            var labels = Enumerable.Range(0, images).Select(i => i % 2).ToArray();
            using var scaled = new ImageFileDataset(paths, labels, labels, GroupScheme.Binary(), new SkiaImageDecoder(), ImagePreprocessing.Waterbirds);
            using var exact = new ImageFileDataset(paths, labels, labels, GroupScheme.Binary(), new SkiaImageDecoder { ScaledDecoding = false }, ImagePreprocessing.Waterbirds);
            Console.WriteLine($"Image benchmark: {images} JPEG files of 500 x 375 ({bytes / images / 1024} KB each), Waterbirds preprocessing to 3 x 224 x 224, batch 64, {Environment.ProcessorCount} cores");
            var raw = new List<double>();
            var ratioScaled = new List<double>();
            var ratioExact = new List<double>();
            for (int rep = -1; rep < repetitions; rep++)
            {
                double r = Rate(images, () => RawDecode(paths)), s = Rate(images, () => Read(scaled)), e = Rate(images, () => Read(exact));
                if (rep < 0) continue;   // the first round warms up
                raw.Add(r);
                ratioScaled.Add(s / r);
                ratioExact.Add(e / r);
            }
            Console.WriteLine($"raw parallel Skia decode (full resolution, nothing else), images per second: {Summary(raw, "F0")}");
            Console.WriteLine($"library / raw decode, default (scaled decoding):              {Summary(ratioScaled, "F2")}");
            Console.WriteLine($"library / raw decode, ScaledDecoding = false (full resolution): {Summary(ratioExact, "F2")}");
            Console.WriteLine($"({repetitions} rounds of the three passes, interleaved)");
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    /// <summary>
    /// The baseline: the files decoded at full resolution with Skia, in batches of 64, one thread per core, each into a
    /// reused RGBA buffer; no resize, crop, conversion or tensor: what decoding alone allows.
    /// </summary>
    private static void RawDecode(string[] paths)
    {
        var buffers = new ThreadLocal<byte[]>(() => GC.AllocateUninitializedArray<byte>(500 * 375 * 4, pinned: true));
        for (int start = 0; start < paths.Length; start += 64)
            Parallel.For(start, Math.Min(paths.Length, start + 64), new ParallelOptions { MaxDegreeOfParallelism = Environment.ProcessorCount }, i =>
            {
                using var codec = SKCodec.Create(paths[i]);
                var info = new SKImageInfo(codec.Info.Width, codec.Info.Height, SKColorType.Rgba8888, SKAlphaType.Unpremul);
                if (codec.GetPixels(info, Marshal.UnsafeAddrOfPinnedArrayElement(buffers.Value!, 0)) != SKCodecResult.Success) throw new InvalidDataException(paths[i]);
            });
    }

    /// <summary>Every batch of 64 through the library, until its tensor is read.</summary>
    private static void Read(ImageFileDataset data)
    {
        foreach (var batch in data.Batches(64))
        {
            using var scope = NewDisposeScope();
            _ = batch.Inputs.sum().item<float>();   // the batch is complete when its tensor is read
        }
    }

    private static double Rate(int images, Action pass)
    {
        var clock = Stopwatch.StartNew();
        pass();
        return images / clock.Elapsed.TotalSeconds;
    }

    private static string Summary(List<double> values, string format)
    {
        var sorted = values.Order().ToList();
        double median = sorted.Count % 2 == 1 ? sorted[sorted.Count / 2] : (sorted[sorted.Count / 2 - 1] + sorted[sorted.Count / 2]) / 2;
        return $"median {median.ToString(format)} (min {sorted[0].ToString(format)}, max {sorted[^1].ToString(format)})";
    }
}
