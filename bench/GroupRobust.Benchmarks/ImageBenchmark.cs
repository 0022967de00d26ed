using System.Diagnostics;
using GroupRobust.Data;
using GroupRobust.Data.Images;
using GroupRobust.Groups;
using GroupRobust.Imaging;
using static TorchSharp.torch;

namespace GroupRobust.Benchmarks;

/// <summary>
/// Images per second through <see cref="ImageFileDataset"/> with Waterbirds' preprocessing (resize 256 x 256, centre
/// crop 224, ImageNet normalisation) on Waterbirds-sized JPEG fixtures (500 x 375, quality 90, a smooth scene with
/// noise so the files are as large as real photographs), in batches of 64: decoding, resizing and the tensor.
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
            using var data = new ImageFileDataset(paths, labels, labels, GroupScheme.Binary(), new SkiaImageDecoder(), ImagePreprocessing.Waterbirds);
            Console.WriteLine($"Image benchmark: {images} JPEG files of 500 x 375 ({bytes / images / 1024} KB each), Waterbirds preprocessing to 3 x 224 x 224, batch 64, {Environment.ProcessorCount} cores");
            var rates = new List<double>();
            for (int rep = -1; rep < repetitions; rep++)
            {
                var clock = Stopwatch.StartNew();
                foreach (var batch in data.Batches(64))
                {
                    using var scope = NewDisposeScope();
                    _ = batch.Inputs.sum().item<float>();   // the batch is complete when its tensor is read
                }
                if (rep >= 0) rates.Add(images / clock.Elapsed.TotalSeconds);
            }
            rates.Sort();
            Console.WriteLine($"images per second: median {rates[rates.Count / 2]:F0} (min {rates[0]:F0}, max {rates[^1]:F0}) over {repetitions} passes");
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }
}
