using BenchmarkDotNet.Attributes;
using GroupRobust.Data;
using GroupRobust.Evaluation;
using GroupRobust.Groups;
using GroupRobust.Identification;
using GroupRobust.Methods;
using GroupRobust.Mixing;
using GroupRobust.Randomness;
using GroupRobust.Sampling;
using TorchSharp;
using static TorchSharp.torch;

namespace GroupRobust.Benchmarks;

/// <summary>Per-call costs of the library's hot-path pieces on a batch of 128 Fashion-MNIST-sized inputs.</summary>
[MemoryDiagnoser]
public class MicroBenchmarks
{
    private const int BatchSize = 128;
    private TensorGroupDataset _data = null!;
    private GroupAssignment _partition = null!;
    private Jm1Method _jm1 = null!;
    private nn.Module<Tensor, Tensor> _linear = null!;
    private Batch _batch = null!;
    private GroupDroLoss _dro = null!;
    private WorstGroupEvaluator _evaluator = null!;
    private Tensor _losses = null!, _groups = null!, _logits = null!;
    private JttReweighter _jtt = null!;
    private long[] _indices = null!;

    [GlobalSetup]
    public void Setup()
    {
        TorchBackend.EnsureAvailable();
        torch.random.manual_seed(0);
        const int n = 20_000;
        var y = torch.randint(0, 2, [n], dtype: ScalarType.Int64);
        var a = torch.randint(0, 2, [n], dtype: ScalarType.Int64);
        _data = new TensorGroupDataset(torch.randn(n, 3, 28, 28), y, GroupScheme.Binary(), a);
        _partition = GroupAssignment.FromErrorSet(Enumerable.Range(0, n).Select(i => i % 20 == 0).ToArray(), _data, "bench");
        _jm1 = Jm1Method.Jm1(_data, _partition, new SeedSource(1));
        _jm1.BeginEpoch(1, 1);
        _linear = nn.Sequential(nn.Flatten(), nn.Linear(3 * 28 * 28, 2));
        _indices = Enumerable.Range(0, BatchSize).Select(i => (long)(i * 97 % n)).ToArray();
        _batch = _data.GetBatch(_indices).DetachFromDisposeScope();
        _dro = new GroupDroLoss(GroupCounts.Of(_data), new GroupDroOptions { GeneralizationAdjustment = 1 });
        _evaluator = new WorstGroupEvaluator(_data.Scheme, new EvaluatorOptions { BootstrapSamples = 0 });
        _losses = torch.rand(BatchSize).DetachFromDisposeScope();
        _groups = _batch.Groups!;
        _logits = torch.randn(BatchSize, 2).DetachFromDisposeScope();
        _jtt = new JttReweighter(_partition, 50, 3);
    }

    [Benchmark(Description = "JM1 batch loss: partners, fetch, mix, linear model, CE (128 x 3 x 28 x 28)")]
    public void Jm1BatchLoss()
    {
        using var scope = NewDisposeScope();
        _jm1.Loss(_linear, _batch);
    }

    [Benchmark(Description = "GroupDRO step (128 losses)")]
    public void GroupDroStep()
    {
        using var scope = NewDisposeScope();
        _dro.Forward(_losses, _groups);
    }

    [Benchmark(Description = "evaluator accumulation (128 rows)")]
    public void EvaluatorAdd()
    {
        _evaluator.Add(_logits, _batch.Labels, _groups);
        if (_evaluator.Count > 1_000_000) _evaluator.Reset();
    }

    [Benchmark(Description = "JTT epoch generation (N 20k, |E| 1k, lambda 50)")]
    public long[] JttEpoch() => _jtt.IndicesForEpoch(0);
}
