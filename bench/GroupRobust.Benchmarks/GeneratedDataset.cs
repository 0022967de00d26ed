using GroupRobust.Data;
using GroupRobust.Groups;
using TorchSharp;
using static TorchSharp.torch;

namespace GroupRobust.Benchmarks;

/// <summary>
/// A synthetic dataset whose features are generated from the sample index on demand (never stored): the streaming mode
/// of the scale benchmark. Labels and attributes come from a hash of the index; memory is the host label and group arrays.
/// </summary>
internal sealed class GeneratedDataset : IGroupDataset
{
    private readonly int[] _labels;
    private readonly int[] _groups;

    /// <summary>Nothing to free: features are generated per batch.</summary>
    public void Dispose()
    {
    }

    public GeneratedDataset(int count)
    {
        _labels = new int[count];
        _groups = new int[count];
        for (int i = 0; i < count; i++)
        {
            ulong h = Hash((ulong)i);
            int y = (int)(h & 1);
            int a = (h >> 8) % 100 < 95 ? y : 1 - y;
            _labels[i] = y;
            _groups[i] = 2 * y + a;
        }
    }

    public int Count => _labels.Length;
    public GroupScheme Scheme { get; } = GroupScheme.Binary();
    public ReadOnlyMemory<int> Labels => _labels;
    public bool HasGroups => true;
    public ReadOnlyMemory<int> Groups => _groups;
    public Device Device => CPU;

    public Batch GetBatch(ReadOnlySpan<long> indices)
    {
        var idx = indices.ToArray();
        using var scope = NewDisposeScope();
        var index = torch.tensor(idx);
        var y = torch.tensor(idx.Select(i => (long)_labels[i]).ToArray());
        var g = torch.tensor(idx.Select(i => (long)_groups[i]).ToArray());
        var a = g.remainder(2L).to(ScalarType.Float32);
        // features: (spurious a, core y) plus noise seeded by the index, as in the Appendix C task
        var h = torch.sin(index.to(ScalarType.Float32).unsqueeze(1) * torch.tensor(new float[] { 12.9898f, 78.233f })).mul(43758.5453f);
        var noise = (h - h.floor()).sub(0.5f);   // in [-0.5, 0.5)
        var x = torch.stack([a, y.to(ScalarType.Float32)], 1) + noise;
        return new Batch(x, y, g, idx).MoveToOuterDisposeScope();
    }

    private static ulong Hash(ulong x)
    {
        x += 0x9E3779B97F4A7C15UL;
        x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9UL;
        x = (x ^ (x >> 27)) * 0x94D049BB133111EBUL;
        return x ^ (x >> 31);
    }
}
