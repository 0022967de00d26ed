using System.Globalization;
using TorchSharp;
using static TorchSharp.torch;

namespace GroupRobust.Benchmarks;

/// <summary>
/// Options of the macro benchmark, parsed from
/// <c>macro [repetitions=5] [train-size=10000] [--device cpu|cuda] [--model small-cnn|resnet18|resnet50]
/// [--image-size N] [--batch N] [--dtype fp32|bf16|fp16] [--methods a,b,...] [--no-one-off] [--data-dir DIR]</c>.
/// </summary>
/// <param name="Repetitions">Timed epochs per method (after one warm-up epoch), at least 1.</param>
/// <param name="TrainSize">Training samples per epoch, at least 2 x the batch.</param>
/// <param name="DeviceName">"cpu" or "cuda".</param>
/// <param name="Model">"small-cnn" (the Study's CNN on Spurious Fashion-MNIST, 3 x 28 x 28), "resnet18" or "resnet50" (TorchVision for TorchSharp, random images), or "minilm" (all-MiniLM-L6-v2's encoder with a linear head, random token batches).</param>
/// <param name="ImageSize">Side of the random images for the ResNets; tokens per text for minilm (ignored by the small CNN, whose images are 28 x 28).</param>
/// <param name="BatchSize">Mini-batch size.</param>
/// <param name="Dtype">Model and input precision: fp32, bf16 or fp16.</param>
/// <param name="Methods">The rows to run, null for all (see <see cref="MacroBenchmark.AllRows"/>).</param>
/// <param name="OneOff">Also time the one-off costs (EIIL inference, XRM, DFR, DFR's solver at ResNet-50 width).</param>
/// <param name="DataDirectory">Fashion-MNIST's folder for the small CNN; null for Debian's.</param>
internal sealed record MacroOptions(int Repetitions, int TrainSize, string DeviceName, string Model, int ImageSize, int BatchSize, string Dtype,
                                    IReadOnlyList<string>? Methods, bool OneOff, string? DataDirectory)
{
    public static MacroOptions Parse(IReadOnlyList<string> args)
    {
        var positional = new List<string>();
        string device = "cpu", model = "small-cnn", dtype = "fp32";
        int? imageSize = null, batch = null;
        IReadOnlyList<string>? methods = null;
        bool oneOff = true;
        string? dataDir = null;
        for (int i = 0; i < args.Count; i++)
        {
            string Value() => i + 1 < args.Count ? args[++i] : throw new ArgumentException($"Option {args[i]} needs a value.");
            switch (args[i])
            {
                case "--device": device = Value(); break;
                case "--model": model = Value(); break;
                case "--image-size": imageSize = Int(Value(), "--image-size"); break;
                case "--batch": batch = Int(Value(), "--batch"); break;
                case "--dtype": dtype = Value(); break;
                case "--methods": methods = Value().Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries); break;
                case "--no-one-off": oneOff = false; break;
                case "--data-dir": dataDir = Value(); break;
                default:
                    if (args[i].StartsWith("--", StringComparison.Ordinal)) throw new ArgumentException($"Unknown option {args[i]}.");
                    positional.Add(args[i]);
                    break;
            }
        }
        if (positional.Count > 2) throw new ArgumentException($"At most two positional arguments (repetitions, train size); got {positional.Count}.");
        var options = new MacroOptions(
            positional.Count > 0 ? Int(positional[0], "repetitions") : 5,
            positional.Count > 1 ? Int(positional[1], "train-size") : 10_000,
            device, model, imageSize ?? 112, batch ?? (model == "small-cnn" ? 64 : 128), dtype, methods, oneOff, dataDir);
        options.Validate();
        return options;
    }

    public Device Device => DeviceName == "cuda" ? CUDA : CPU;

    public ScalarType ScalarType => Dtype switch { "bf16" => ScalarType.BFloat16, "fp16" => ScalarType.Float16, _ => ScalarType.Float32 };

    private void Validate()
    {
        if (Repetitions < 1) throw new ArgumentOutOfRangeException(nameof(Repetitions), Repetitions, "At least one repetition.");
        if (BatchSize < 2) throw new ArgumentOutOfRangeException(nameof(BatchSize), BatchSize, "The batch must hold at least 2 samples.");
        if (TrainSize < 2 * BatchSize) throw new ArgumentOutOfRangeException(nameof(TrainSize), TrainSize, $"The training set must hold at least two batches ({2 * BatchSize}).");
        if (DeviceName is not ("cpu" or "cuda")) throw new ArgumentException($"--device must be cpu or cuda; got '{DeviceName}'.");
        if (Model is not ("small-cnn" or "resnet18" or "resnet50" or "minilm")) throw new ArgumentException($"--model must be small-cnn, resnet18, resnet50 or minilm; got '{Model}'.");
        if (Model == "minilm" && Methods is not null && Methods.FirstOrDefault(m => m is "raw-jm1" or "jm1" or "mixup" or "lisa" or "groupjm1" or "cmixup" or "jm1-plus" or "jm1-unconditional") is { } inputMixing)
            throw new ArgumentException($"--model minilm trains on token ids, which '{inputMixing}' would interpolate at the input; use jm1:hidden (the output), jm1:random or the methods that do not mix.");
        if (Dtype is not ("fp32" or "bf16" or "fp16")) throw new ArgumentException($"--dtype must be fp32, bf16 or fp16; got '{Dtype}'.");
        if (ImageSize < 32) throw new ArgumentOutOfRangeException(nameof(ImageSize), ImageSize, "ResNet images need a side of at least 32 (texts: at least 32 tokens).");
        if (Model == "minilm" && ImageSize > 512) throw new ArgumentOutOfRangeException(nameof(ImageSize), ImageSize, "MiniLM reads at most 512 tokens per text.");
        TorchBackend.EnsureDevice(DeviceName);   // one actionable sentence when CUDA is asked of a CPU-only backend
        if (Methods is not null)
            foreach (var m in Methods)
                if (!MacroBenchmark.AllRows.Contains(m))
                    throw new ArgumentException($"Unknown method '{m}'; known: {string.Join(", ", MacroBenchmark.AllRows)}.");
    }

    private static int Int(string text, string name)
        => int.TryParse(text, NumberStyles.Integer, CultureInfo.InvariantCulture, out int v) ? v : throw new ArgumentException($"{name} must be an integer; got '{text}'.");
}
